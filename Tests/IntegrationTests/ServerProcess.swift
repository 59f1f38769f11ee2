import AsyncHTTPClient
import DucklingTestSupport
import Foundation
import NIOCore
import NIOHTTP1

/// The environment for a `duckling` process in a test: this one's, without Duckling's own
/// settings (the test services' `DUCKLING_TEST_*` stay), plus `extra`.
enum ProcessEnvironment {
    static func clean(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("DUCKLING_") || $0.key.hasPrefix("DUCKLING_TEST_") }
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

    init(config: String, directory: String, environment: [String: String]) throws {
        port = Int.random(in: 42000...49000)
        process = Process()
        process.executableURL = URL(fileURLWithPath: try ducklingBinary())
        process.arguments = ["serve", "--config", config, "--port", String(port)]
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

    func status(_ dataset: String) async throws -> [String: Any] {
        ((try await request(.GET, "/api/store/status").1["datasets"] as? [String: Any])?[dataset] as? [String: Any]) ?? [:]
    }

    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then waits for the process to end; returns its exit status.
    func terminate() -> Int32 {
        process.terminate()
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        try? client.syncShutdown()
    }
}
