import DucklingTestSupport
import AsyncHTTPClient
import Foundation
import NIOCore
import Testing

/// Time limits that really stop queries, clients that leave, and bounds on load.
@Suite(.serialized) struct QueryLimitsTests {
    static let endless = "SELECT count(*) FROM range(100000000000)"

    @Test func aTimeLimitStopsTheQueryAndAnswers504() async throws {
        try await TestServer.run { server in
            let started = ContinuousClock.now
            let reply = try await server.query(Self.endless, extra: ["timeout_ms": 500])
            let elapsed = ContinuousClock.now - started
            #expect(reply.status == 504)
            #expect(reply.errorCode == "query_timeout")
            #expect(elapsed < .seconds(2), "answered after \(elapsed)")
            // Really stopped: the connection is back in the pool and the engine uses no CPU.
            #expect(server.services.registry.database("default")?.poolUsage?.inUse == 0)
            let busy = try await cpuTimeUsed(over: .milliseconds(500))
            #expect(busy < .milliseconds(150), "the process used \(busy) of CPU after the timeout")
            #expect(try await server.query("SELECT 1").status == 200)
        }
    }

    @Test func aClientThatDisconnectsCancelsItsQuery() async throws {
        try await TestServer.run { server in
            let body = #"{"sql":"\#(Self.endless)","timeout_ms":60000}"#
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/api/query")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(server.adminKey)")
            request.body = .bytes(ByteBuffer(string: body))
            await #expect(throws: (any Error).self) {
                _ = try await server.client.execute(request, timeout: .milliseconds(400))
            }
            // The server notices the client leave and interrupts DuckDB.
            let pool = try #require(server.services.registry.database("default"))
            let released = await eventually(within: .seconds(2)) { pool.poolUsage?.inUse == 0 }
            #expect(released, "the query still holds its connection 2 s after the client left")
            let busy = try await cpuTimeUsed(over: .milliseconds(500))
            #expect(busy < .milliseconds(150), "the process used \(busy) of CPU after the client left")
            let statistics = server.services.queries.statistics.snapshot()
            #expect(statistics.cancelled == 1)
        }
    }

    @Test func healthAndSmallQueriesAnswerWhileLongQueriesRun() async throws {
        try await TestServer.run { server in
            let long = (0..<2).map { _ in
                Task { try await server.query(Self.endless, extra: ["timeout_ms": 4000]) }
            }
            let running = await eventually { server.services.registry.database("default")?.poolUsage?.inUse == 2 }
            #expect(running)
            for _ in 0..<5 {
                var started = ContinuousClock.now
                #expect(try await server.request(.GET, "/health", key: .none).status == 200)
                #expect(ContinuousClock.now - started < .milliseconds(100))
                started = ContinuousClock.now
                let small = try await server.query("SELECT 42 AS answer")
                #expect(small.status == 200)
                #expect(ContinuousClock.now - started < .milliseconds(100), "a small query took \(ContinuousClock.now - started)")
            }
            for task in long { #expect(try await task.value.status == 504) }
        }
    }

    @Test func anUnknownDatabaseIs404() async throws {
        try await TestServer.run { server in
            let reply = try await server.query("SELECT 1", db: "nope")
            #expect(reply.status == 404)
            #expect(reply.errorCode == "database_not_found")
        }
    }

    @Test func aBodyOverTheLimitIs413() async throws {
        try await TestServer.run(yaml: "server:\n  max_body_bytes: 4096\n") { server in
            let big = "SELECT '" + String(repeating: "x", count: 8000) + "'"
            let reply = try await server.query(big)
            #expect(reply.status == 413)
            #expect(reply.errorCode == "body_too_large")
            // Without a Content-Length (chunked), the limit still holds.
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/api/query")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(server.adminKey)")
            let chunks = [ByteBuffer(string: #"{"sql":"SELECT '"#), ByteBuffer(string: String(repeating: "y", count: 8000)), ByteBuffer(string: #"'"}"#)]
            request.body = .stream(chunks.async, length: .unknown)
            let response = try await server.client.execute(request, timeout: .seconds(10))
            #expect(response.status.code == 413)
            #expect(try await server.query("SELECT 1").status == 200)
        }
    }

    @Test func aClientThatWritesItsWholeBodyFirstGetsIts413AtOnce() async throws {
        try await TestServer.run { server in
            // As Python's urllib does: the whole 64 MB body, then read; no Expect: 100-continue.
            for connection in ["close", "keep-alive"] {
                let started = ContinuousClock.now
                let answer = try await BlockingClient.post(port: server.port, path: "/api/query", key: server.adminKey,
                                                           bodyBytes: 64 << 20, connection: connection)
                let elapsed = ContinuousClock.now - started
                #expect(answer.hasPrefix("HTTP/1.1 413"), "\(connection): \(answer.prefix(200))")
                #expect(answer.lowercased().contains("connection: close"), "\(answer.prefix(300))")
                #expect(answer.contains("body_too_large"))
                #expect(elapsed < .seconds(15), "the 413 took \(elapsed)")
            }
            #expect(try await server.query("SELECT 1").status == 200)
        }
    }

    @Test func aClientThatStopsReadingLosesItsConnectionAtTheTimeLimit() async throws {
        try await TestServer.run { server in
            // A huge NDJSON result to a client that never reads: the server's writes block.
            let body = #"{"sql":"SELECT range AS i, md5(range::VARCHAR) AS d FROM range(1000000000)","timeout_ms":1500}"#
            let client = try BlockingClient.open(port: server.port)
            defer { close(client) }
            let head = "POST /api/query HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(server.adminKey)\r\n"
                + "Accept: application/x-ndjson\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
            try BlockingClient.write(Array(head.utf8), to: client)
            let database = try #require(server.services.registry.database("default"))
            #expect(await eventually(within: .seconds(10)) { database.poolUsage?.inUse == 1 }, "the query never started")
            // The time limit frees the connection although nobody asks for the next chunk.
            let freed = await eventually(within: .seconds(10)) { database.poolUsage?.inUse == 0 }
            #expect(freed, "a client that stopped reading still holds its connection")
            // And a restore, which waits for running queries, is not held up by it.
            #expect(try await server.request(.POST, "/automation/backup").status == 200)
            #expect(try await server.request(.POST, "/automation/restore", timeout: .seconds(20)).status == 200)
        }
    }

    @Test func aClientThatStallsMidBodyIsCutOff() async throws {
        try await TestServer.run(yaml: "server:\n  max_body_bytes: 4096\n") { server in
            let client = try BlockingClient.open(port: server.port)
            defer { close(client) }
            let head = "POST /api/query HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(server.adminKey)\r\n"
                + "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            try BlockingClient.write(Array(head.utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 10000), to: client)
            // Then nothing more: the server answers 413 and closes rather than wait for ever.
            let started = ContinuousClock.now
            let answer = try BlockingClient.readAll(client)
            #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer.prefix(200))")
            #expect(ContinuousClock.now - started < .seconds(20))
        }
    }

    @Test func tooManyConcurrentQueriesAre429() async throws {
        try await TestServer.run(yaml: "query:\n  max_concurrent: 2\n  max_queued: 1\n") { server in
            let running = (0..<3).map { _ in
                Task { try await server.query(Self.endless, extra: ["timeout_ms": 3000]) }
            }
            let full = await eventually {
                let usage = server.services.registry.database("default")?.poolUsage
                return usage?.inUse == 2 && usage?.waiting == 1
            }
            #expect(full, "\(String(describing: server.services.registry.database("default")?.poolUsage))")
            let refused = try await server.query("SELECT 1")
            #expect(refused.status == 429)
            #expect(refused.errorCode == "too_many_queries")
            #expect(refused.headers["Retry-After"].first == "1")
            for task in running { #expect(try await task.value.status == 504) }
            #expect(try await server.query("SELECT 1").status == 200)
        }
    }
}

/// A client on a blocking socket that writes its whole request before it reads a byte.
enum BlockingClient {
    /// POSTs `bodyBytes` bytes (a JSON string padded out) and returns the raw answer.
    static func post(port: Int, path: String, key: String, bodyBytes: Int, connection: String) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try send(port: port, path: path, key: key, bodyBytes: bodyBytes, connection: connection) })
            }.start()
        }
    }

    /// A connected socket to the server, with 30 s send and receive timeouts; the caller closes it.
    static func open(port: Int) throws -> Int32 {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw TestFailure("socket: \(errno)") }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(socket)
            throw TestFailure("connect: \(errno)")
        }
        return socket
    }

    /// Everything the server sends until it closes the connection (or 30 s pass).
    static func readAll(_ socket: Int32) throws -> String {
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = recv(socket, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            answer += buffer[..<count]
        }
        return String(decoding: answer, as: UTF8.self)
    }

    private static func send(port: Int, path: String, key: String, bodyBytes: Int, connection: String) throws -> String {
        let socket = try open(port: port)
        defer { close(socket) }
        let head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(key)\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(bodyBytes)\r\nConnection: \(connection)\r\n\r\n"
        try write(Array(head.utf8), to: socket)
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 16)
        var sent = 0
        while sent < bodyBytes {
            let part = min(chunk.count, bodyBytes - sent)
            try write(Array(chunk[..<part]), to: socket)
            sent += part
        }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while !String(decoding: answer, as: UTF8.self).contains("\"success\":false}") {
            let count = recv(socket, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            answer += buffer[..<count]
        }
        return String(decoding: answer, as: UTF8.self)
    }

    static func write(_ bytes: [UInt8], to socket: Int32) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw TestFailure("the server stopped reading after \(offset) bytes: errno \(errno)") }
            offset += written
        }
    }
}

extension Array where Element: Sendable {
    var async: AsyncStream<Element> {
        AsyncStream { continuation in
            for element in self { continuation.yield(element) }
            continuation.finish()
        }
    }
}
