import Foundation

/// The services `scripts/test-services` started (PostgreSQL, moto), read from the environment
/// `make test` exports, or from the running services' env file.
enum TestEnvironment {
    static let values: [String: String] = {
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

    static func require(_ name: String) throws -> String {
        guard let value = values[name], !value.isEmpty else {
            throw IntegrationFailure("\(name) is not set: run the tests with `make test`, or start scripts/test-services first")
        }
        return value
    }

    static var postgresURL: String { get throws { try require("DUCKLING_TEST_PG_URL") } }

    /// Runs SQL on the test PostgreSQL with psql; returns its unaligned output.
    @discardableResult
    static func psql(_ sql: String) throws -> String {
        let bin = try require("DUCKLING_TEST_PG_BIN")
        let result = try run(bin + "/psql", ["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", try postgresURL, "-c", sql])
        guard result.status == 0 else { throw IntegrationFailure("psql failed: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

struct IntegrationFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

struct ProcessResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs a program to completion and collects its output.
func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
}

/// The `duckling` executable built alongside the tests.
func ducklingBinary() throws -> String {
    if let path = ProcessInfo.processInfo.environment["DUCKLING_BINARY"] { return path }
    var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while directory.path != "/" && !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
        directory.deleteLastPathComponent()
    }
    let path = directory.appendingPathComponent(".build/debug/duckling").path
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw IntegrationFailure("\(path) is missing: run `swift build` first (make test does)")
    }
    return path
}

func temporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("duckling-it-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
