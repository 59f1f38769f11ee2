import AsyncHTTPClient
import DucklingTestSupport
import Foundation
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
    let key = "process-test-key"
    let client = HTTPClient(eventLoopGroupProvider: .singleton)

    /// `port` is a random one unless given (a server that must come back where it was).
    init(config: String, directory: String, environment: [String: String], port: Int? = nil) throws {
        self.port = port ?? Int.random(in: 42000...49000)
        process = Process()
        process.executableURL = URL(fileURLWithPath: try ducklingBinary())
        process.arguments = ["serve", "--config", config, "--port", String(self.port)]
        process.environment = environment.merging(["DUCKLING_API_KEY": key, "DUCKLING_LOG_LEVEL": "error"]) { $1 }
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    func waitUntilHealthy() async throws {
        for _ in 0..<200 {
            if (try? await request(.GET, "/health"))?.0 == 200 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw IntegrationFailure("duckling serve did not become healthy")
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
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        if let body { request.body = body }
        let response = try await client.execute(request, timeout: .seconds(600))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        let json = (try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any]) ?? [:]
        return (Int(response.status.code), json)
    }

    /// The body of a GET as text (`/metrics`).
    func text(_ path: String) async throws -> String {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        let response = try await client.execute(request, timeout: .seconds(60))
        return String(buffer: try await response.body.collect(upTo: 16 << 20))
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
