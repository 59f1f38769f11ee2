import Foundation

/// The services `scripts/test-services` started (PostgreSQL, moto), read from the environment
/// `make test` exports, or from the running services' env file.
public enum TestEnvironment {
    public static let values: [String: String] = {
        var values: [String: String] = [:]
        let directory = ProcessInfo.processInfo.environment["DUCKLING_TEST_SERVICES_DIR"] ?? "/tmp/duckling-test-services-\(getuid())"
        if let data = FileManager.default.contents(atPath: directory + "/env") {
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
                let parts = line.split(separator: "=", maxSplits: 1)
                if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
            }
        }
        for (key, value) in ProcessInfo.processInfo.environment where key.hasPrefix("DUCKLING_TEST_") {
            values[key] = value
        }
        return values
    }()

    public static func require(_ name: String) throws -> String {
        guard let value = values[name], !value.isEmpty else {
            throw IntegrationFailure("\(name) is not set: run the tests with `make test`, or start scripts/test-services first")
        }
        return value
    }

    public static var postgresURL: String { get throws { try require("DUCKLING_TEST_PG_URL") } }

    /// Runs SQL on the test PostgreSQL with psql; returns its unaligned output.
    @discardableResult
    public static func psql(_ sql: String) throws -> String {
        let bin = try require("DUCKLING_TEST_PG_BIN")
        let result = try run(bin + "/psql", ["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", try postgresURL, "-c", sql])
        guard result.status == 0 else { throw IntegrationFailure("psql failed: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

public struct IntegrationFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public struct ProcessResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// Runs a program to completion and collects its output. Uses posix_spawn and a blocking waitpid:
/// Foundation's Process can miss a child's exit here, leaving a test waiting for ever.
public func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
                captureOutput: Bool = true) throws -> ProcessResult {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    var outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
    if captureOutput {
        guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else { throw IntegrationFailure("pipe failed") }
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        for fd in outPipe + errPipe { posix_spawn_file_actions_addclose(&actions, fd) }
    } else {
        // Nothing to read: a daemon it starts (PostgreSQL) may keep its output open for ever.
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    }
    // Without posix_spawn_file_actions_addchdir_np here, a shell changes directory first.
    let command = directory.map { ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", $0, executable] + arguments } ?? [executable] + arguments
    let argv = command.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    let environmentList = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { environmentList.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, command[0], &actions, nil, argv, environmentList)
    guard spawned == 0 else { throw IntegrationFailure("cannot run \(executable): \(String(cString: strerror(spawned)))") }
    var stdout = Data(), stderr = Data()
    if captureOutput {
        close(outPipe[1])
        close(errPipe[1])
        // Read both pipes at once so neither can fill up and block the child.
        let group = DispatchGroup()
        final class Collected: @unchecked Sendable { var data = Data() }  // written by one thread, read after group.wait()
        let errors = Collected()
        let errorReader = FileHandle(fileDescriptor: errPipe[0], closeOnDealloc: true)
        group.enter()
        DispatchQueue.global().async {
            errors.data = errorReader.readDataToEndOfFile()
            group.leave()
        }
        stdout = FileHandle(fileDescriptor: outPipe[0], closeOnDealloc: true).readDataToEndOfFile()
        group.wait()
        stderr = errors.data
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    let exitCode: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return ProcessResult(status: exitCode, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
}

/// The `duckling` executable built alongside the tests.
/// The checkout this test was built from (the directory holding Package.swift).
public func repositoryRoot() throws -> String {
    var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while directory.path != "/" && !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
        directory.deleteLastPathComponent()
    }
    guard directory.path != "/" else { throw IntegrationFailure("cannot find the repository root from \(#filePath)") }
    return directory.path
}

public func ducklingBinary() throws -> String {
    if let path = ProcessInfo.processInfo.environment["DUCKLING_BINARY"] { return path }
    let path = try repositoryRoot() + "/.build/debug/duckling"
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw IntegrationFailure("\(path) is missing: run `swift build` first (make test does)")
    }
    return path
}

public func temporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("duckling-it-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

extension TestEnvironment {
    /// Stops or starts the test PostgreSQL (through scripts/test-services), for fault tests.
    public static func postgres(_ action: String) throws {
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) { directory.deleteLastPathComponent() }
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in values { environment[key] = value }
        let result = try run(directory.appendingPathComponent("scripts/test-services").path, ["pg-\(action)"],
                             environment: environment, captureOutput: false)
        guard result.status == 0 else { throw IntegrationFailure("scripts/test-services pg-\(action) failed (\(result.status))") }
    }
}
