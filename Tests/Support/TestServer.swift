public import AsyncHTTPClient
import DucklingCore
public import DucklingHTTP
public import Foundation
import Logging
public import NIOCore
public import NIOHTTP1
public import ObjectStorage
import ServiceLifecycle

/// A real Duckling server on a free loopback port, in this process, with a temporary data
/// directory; stopped and removed after the test body.
public struct TestServer: Sendable {
    public let port: Int
    public let adminKey: String
    public let services: DucklingServices
    public let dataDirectory: String
    public let client: HTTPClient

    public static let readOnlyKey = "read-only-test-key"

    /// S3 settings for tests: 5 MiB parts (moto's minimum), so small databases go up in several
    /// parts, and short retry delays.
    public static var fastStoreOptions: S3Store.Options {
        var options = S3Store.Options()
        options.multipartThreshold = 5 << 20
        options.partSize = 5 << 20
        options.retry = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(20), maxDelay: .milliseconds(200))
        return options
    }

    /// Starts a server from `yaml` (a duckling.yaml body, optional) and `environment`. With `logs`,
    /// everything the server logs, at every level, is captured there.
    public static func run<T: Sendable>(
        yaml: String? = nil,
        environment: [String: String] = [:],
        storeOptions: S3Store.Options = TestServer.fastStoreOptions,
        logs: LogCapture? = nil,
        _ body: @Sendable (TestServer) async throws -> T
    ) async throws -> T {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("duckling-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        var file: String?
        if let yaml {
            file = root + "/duckling.yaml"
            try yaml.write(toFile: root + "/duckling.yaml", atomically: true, encoding: .utf8)
        }
        let adminKey = "admin-\(UUID().uuidString)"
        var environment = environment
        environment["DUCKLING_API_KEY"] = environment["DUCKLING_API_KEY"] ?? adminKey
        environment["DUCKLING_READ_ONLY_KEYS"] = environment["DUCKLING_READ_ONLY_KEYS"] ?? readOnlyKey
        environment["DUCKDB_MEMORY_LIMIT"] = environment["DUCKDB_MEMORY_LIMIT"] ?? "2GB"
        environment["HOME"] = ProcessInfo.processInfo.environment["HOME"]
        let configuration = try ConfigurationLoader(environment: environment, workingDirectory: root)
            .load(file: file, overrides: .init(dataDirectory: root + "/data"))
        var logger = logs?.logger(label: "duckling.test") ?? Logger(label: "duckling.test")
        if logs == nil { logger.logLevel = .warning }
        let services = DucklingServices(configuration: configuration, adminKey: Secret(adminKey), storeOptions: storeOptions, logger: logger)
        try await services.openAll()

        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let app = buildApplication(services, host: "127.0.0.1", port: 0) { channel in
            portContinuation.yield(channel.localAddress?.port ?? 0)
            portContinuation.finish()
        }
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else { throw TestFailure("the server did not start") }
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            let server = TestServer(port: port, adminKey: adminKey, services: services, dataDirectory: root + "/data", client: client)
            do {
                let value = try await body(server)
                try await client.shutdown()
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                await services.closeAll()
                return value
            } catch {
                try? await client.shutdown()
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                await services.closeAll()
                throw error
            }
        }
    }

    public struct Reply: Sendable {
        public let status: Int
        public let headers: HTTPHeaders
        public let body: Data

        public init(status: Int, headers: HTTPHeaders, body: Data) {
            self.status = status
            self.headers = headers
            self.body = body
        }

        public var text: String { String(decoding: body, as: UTF8.self) }

        /// The body as JSON (dictionaries, arrays, strings, NSNumber, NSNull).
        public var json: [String: Any] {
            get throws {
                guard let object = try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) as? [String: Any] else {
                    throw TestFailure("not a JSON object: \(text)")
                }
                return object
            }
        }

        /// `error.code` of an error reply.
        public var errorCode: String? {
            ((try? json)?["error"] as? [String: Any])?["code"] as? String
        }
    }

    public enum Key: Sendable {
        case admin, readOnly, none, custom(String)
    }

    public func request(
        _ method: HTTPMethod, _ path: String, key: Key = .admin, headers: [(String, String)] = [],
        body: String? = nil, timeout: TimeAmount = .seconds(120)
    ) async throws -> Reply {
        try await send(method, path, key: key, headers: headers, contentType: body == nil ? nil : "application/json",
                       body: body.map { .bytes(ByteBuffer(string: $0)) }, timeout: timeout)
    }

    /// A request with any body (bytes, or a stream) and content type.
    public func send(
        _ method: HTTPMethod, _ path: String, key: Key = .admin, headers: [(String, String)] = [],
        contentType: String?, body: HTTPClientRequest.Body?, timeout: TimeAmount = .seconds(600)
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        switch key {
        case .admin: request.headers.add(name: "Authorization", value: "Bearer \(adminKey)")
        case .readOnly: request.headers.add(name: "Authorization", value: "Bearer \(Self.readOnlyKey)")
        case .custom(let value): request.headers.add(name: "Authorization", value: "Bearer \(value)")
        case .none: break
        }
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = body }
        let response = try await client.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 512 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Data(bytes.readableBytesView))
    }

    /// `POST /api/query` with `{"sql": …}` plus any other fields.
    public func query(
        _ sql: String, db: String? = nil, key: Key = .admin, accept: String? = nil,
        extra: [String: Any] = [:], timeout: TimeAmount = .seconds(60)
    ) async throws -> Reply {
        var fields = extra
        fields["sql"] = sql
        let body = String(decoding: try JSONSerialization.data(withJSONObject: fields), as: UTF8.self)
        return try await request(
            .POST, "/api/query" + (db.map { "?db=\($0)" } ?? ""), key: key,
            headers: accept.map { [("Accept", $0)] } ?? [], body: body, timeout: timeout)
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// CPU time (user + system) this process has used, to tell whether DuckDB is still working.
public func processCPUTime() -> Duration {
    var usage = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    let micros = Int64(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1_000_000
        + Int64(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
    return .microseconds(micros)
}

/// CPU time this process uses over `window`: near zero when the engine is idle.
public func cpuTimeUsed(over window: Duration) async throws -> Duration {
    let before = processCPUTime()
    try await Task.sleep(for: window)
    return processCPUTime() - before
}

extension TestServer {
    /// `POST` with the admin key and a JSON object built from `fields`.
    public func post(_ path: String, _ fields: [String: Any] = [:], key: Key = .admin) async throws -> Reply {
        let body = String(decoding: try JSONSerialization.data(withJSONObject: fields), as: UTF8.self)
        return try await request(.POST, path, key: key, body: body)
    }

    /// The rows of `sql` through the query API, as Foundation JSON values.
    public func rows(_ sql: String, db: String? = nil) async throws -> [[Any]] {
        let reply = try await query(sql, db: db)
        guard reply.status == 200, let rows = try reply.json["rows"] as? [[Any]] else {
            throw TestFailure("query failed (\(reply.status)): \(reply.text)")
        }
        return rows
    }
}

/// Waits for an event: returns as soon as `condition` holds (checked every few milliseconds), or
/// false once `timeout` has passed without it. Tests wait with this, never with a fixed sleep.
public func eventually(within timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try await condition() { return true }
        guard ContinuousClock.now < deadline else { return false }
        try? await Task.sleep(for: .milliseconds(5))
    }
}
