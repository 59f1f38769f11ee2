import AsyncHTTPClient
import DucklingTestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOHTTP1

/// The environment for a `duckling` process in a test: this one's, without Duckling's own
/// settings (the test services' `DUCKLING_TEST_*` stay), plus `extra`.
enum ProcessEnvironment {
    static func clean(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter {
            (!$0.key.hasPrefix("DUCKLING_") || $0.key.hasPrefix("DUCKLING_TEST_")) && !$0.key.hasPrefix("OPENLINEAGE_")
        }
        environment.merge(extra) { $1 }
        return environment
    }
}

/// A `duckling serve` process on a free port, with an admin key.
final class ServerProcess: @unchecked Sendable {
    let process: Process
    let port: Int
    let key: String
    let client = HTTPClient(eventLoopGroupProvider: .singleton)
    /// The process's standard error (errors only, and any crash), quoted when it dies under a request.
    let errorLog: String

    /// `port` is one the kernel has free unless given (a server that must come back where it
    /// was); `key` its admin key (one a restarted server must keep).
    init(config: String, directory: String, environment: [String: String], port: Int? = nil, key: String = "process-test-key",
         logLevel: String = "error") throws {
        self.port = try port ?? Self.freePort()
        self.key = key
        process = Process()
        process.executableURL = URL(fileURLWithPath: try ducklingBinary())
        process.arguments = ["serve", "--config", config, "--port", String(self.port)]
        process.environment = environment.merging(["DUCKLING_API_KEY": key, "DUCKLING_LOG_LEVEL": logLevel]) { $1 }
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle.nullDevice
        errorLog = directory + "/duckling-\(self.port)-\(UUID().uuidString.prefix(8)).stderr"
        _ = FileManager.default.createFile(atPath: errorLog, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: errorLog) ?? FileHandle.nullDevice
        try process.run()
    }

    /// Writes `DIRECTORY/duckling.yaml` for a server without the lake and without periodic
    /// events, data under `DIRECTORY/data`, with `extra` YAML after it; answers its path.
    static func writeConfiguration(in directory: String, extra: String = "") throws -> String {
        let path = directory + "/duckling.yaml"
        try "server:\n  data_dir: \(directory)/data\nlake:\n  enabled: false\nevents:\n  metrics_interval: 0\n\(extra)"
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A loopback port nothing listens on or connects from now: the kernel's choice for a socket
    /// bound to port 0. (A random port may be a test service's, or an outgoing connection's.)
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw IntegrationFailure("socket() failed") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else { throw IntegrationFailure("could not find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether the process is still running (not exited, not a zombie).
    var isAlive: Bool {
        guard process.isRunning else { return false }
        let stat = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8)) ?? ""
        return !stat.isEmpty && stat.split(separator: ")").last?.split(separator: " ").first != "Z"
    }

    /// The end of the process's standard error.
    var errorTail: String {
        let text = (try? String(contentsOfFile: errorLog, encoding: .utf8)) ?? ""
        return String(text.suffix(2000))
    }

    func waitUntilHealthy() async throws {
        for _ in 0..<200 {
            guard isAlive else { throw IntegrationFailure("duckling serve (port \(port)) exited before it was healthy: \(errorTail)") }
            if (try? await raw(.GET, "/health", timeout: .seconds(5)))?.0 == 200 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw IntegrationFailure("duckling serve did not become healthy: \(errorTail)")
    }

    func request(_ method: HTTPMethod, _ path: String) async throws -> (Int, [String: Any]) {
        try await execute(method, path, contentType: nil, body: nil)
    }

    /// A request with a JSON body; the reply's status and JSON.
    func send(_ method: HTTPMethod, _ path: String, json: Any) async throws -> (Int, [String: Any]) {
        try await execute(method, path, contentType: "application/json", body: .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))))
    }

    /// A request whose body is streamed from `file`.
    func upload(_ method: HTTPMethod, _ path: String, file: URL, contentType: String) async throws -> (Int, [String: Any]) {
        let size = try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int ?? 0
        return try await execute(method, path, contentType: contentType, body: .stream(FileChunks(url: file), length: .known(Int64(size))))
    }

    private func execute(_ method: HTTPMethod, _ path: String, contentType: String?, body: HTTPClientRequest.Body?) async throws -> (Int, [String: Any]) {
        let (status, _, bytes) = try await raw(method, path, contentType: contentType, body: body)
        let json = (try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any]) ?? [:]
        return (status, json)
    }

    /// A request with a JSON body; the reply's status, headers (lowercased names) and bytes.
    func headers(_ method: HTTPMethod, _ path: String, json: Any) async throws -> (status: Int, fields: [String: String], body: [UInt8]) {
        let (status, headers, body) = try await raw(method, path, contentType: "application/json",
                                                    body: .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))))
        return (status, Dictionary(headers.map { ($0.name.lowercased(), $0.value) }, uniquingKeysWith: { first, _ in first }), Array(body.readableBytesView))
    }

    /// The one request path: the status, headers and body of a request, failing at once when the process
    /// dies under it (AsyncHTTPClient would retry the refused connection until its deadline).
    private func raw(_ method: HTTPMethod, _ path: String, contentType: String? = nil, body: HTTPClientRequest.Body? = nil,
                     timeout: Duration = .seconds(600)) async throws -> (Int, HTTPHeaders, ByteBuffer) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        if let body { request.body = body }
        let client = client
        // A streamed body's sequence is not Sendable; the request goes to one child task only.
        nonisolated(unsafe) let sent = request
        return try await withThrowingTaskGroup(of: (Int, HTTPHeaders, ByteBuffer)?.self) { group in
            group.addTask {
                let response = try await client.execute(sent, timeout: .init(timeout))
                return (Int(response.status.code), response.headers, try await response.body.collect(upTo: 64 << 20))
            }
            group.addTask { [self] in
                while isAlive { try await Task.sleep(for: .milliseconds(100)) }
                return nil
            }
            defer { group.cancelAll() }
            while let reply = try await group.next() {
                if let reply { return reply }
                throw IntegrationFailure("duckling serve (port \(port)) exited during \(method) \(path): \(errorTail)")
            }
            throw IntegrationFailure("no reply to \(method) \(path)")
        }
    }

    /// Runs the client `scripts/tests/SCRIPT` against this server, `arguments` first, then `--url`
    /// and `--key`. Its last line of output is its report (JSON), logged and returned; a script that
    /// fails, or prints no report, fails the test with its standard error.
    func runClient(_ script: String, _ arguments: [String]) throws -> [String: Any] {
        let path = try repositoryRoot() + "/scripts/tests/" + script
        let result = try run("/usr/bin/env", ["python3", path] + arguments + ["--url", "http://127.0.0.1:\(port)", "--key", key])
        let line = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        FileHandle.standardError.write(Data("\(script) \(arguments.first ?? ""): \(line.prefix(3000))\n".utf8))
        guard result.status == 0 else {
            throw IntegrationFailure("\(script) \(arguments.first ?? "") failed (\(result.status)): \(result.stderr.suffix(4000))")
        }
        guard let report = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw IntegrationFailure("\(script) printed no report: \(result.stdout.suffix(2000))")
        }
        return report
    }

    /// The body of a GET as text (`/metrics`).
    func text(_ path: String) async throws -> String {
        String(buffer: try await raw(.GET, path).2)
    }

    /// Waits up to `seconds` for `/metrics` to hold every one of `lines`; the last scrape.
    @discardableResult
    func waitForMetrics(_ lines: [String], within seconds: Int = 10) async throws -> String {
        var text = ""
        for _ in 0..<(seconds * 10) {
            text = try await self.text("/metrics")
            let have = Set(text.split(separator: "\n").map(String.init))
            if lines.allSatisfy(have.contains) { return text }
            try await Task.sleep(for: .milliseconds(100))
        }
        return text
    }

    func status(_ dataset: String) async throws -> [String: Any] {
        ((try await request(.GET, "/api/store/status").1["datasets"] as? [String: Any])?[dataset] as? [String: Any]) ?? [:]
    }

    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        _ = waitForExit(within: 30)
    }

    /// SIGTERM, then waits for the process to end; returns its exit status.
    func terminate() -> Int32 {
        process.terminate()
        guard waitForExit(within: 60) else {
            Foundation.kill(process.processIdentifier, SIGKILL)
            return -1
        }
        return process.terminationStatus
    }

    /// Waits until the process has ended and Foundation knows it; false if it has not within
    /// `seconds`, or if it ended but Foundation never noticed (its `waitUntilExit` can then hang
    /// forever, which turns one slow exit into a hung test run).
    private func waitForExit(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var unnoticedSince: Date?
        while process.isRunning {
            if Date() > deadline { return false }
            let stat = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8)) ?? ""
            let exited = stat.isEmpty || stat.split(separator: ")").last?.split(separator: " ").first == "Z"
            if exited {
                let since = unnoticedSince ?? Date()
                unnoticedSince = since
                if Date().timeIntervalSince(since) > 5 { return false }
            }
            usleep(20_000)
        }
        return true
    }

    deinit {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        // Not `syncShutdown`: a deinit runs on whatever thread drops the last reference, often
        // one of the cooperative pool's two, which must never block.
        _ = client.shutdown()
    }
}
