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
            // The server notices within its poll interval and interrupts DuckDB.
            let pool = try #require(server.services.registry.database("default"))
            var waited = Duration.zero
            while pool.poolUsage?.inUse != 0 && waited < .seconds(2) {
                try await Task.sleep(for: .milliseconds(50))
                waited += .milliseconds(50)
            }
            #expect(pool.poolUsage?.inUse == 0, "the query still holds its connection after \(waited)")
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
            try await Task.sleep(for: .milliseconds(300))
            #expect(server.services.registry.database("default")?.poolUsage?.inUse == 2)
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

    @Test func tooManyConcurrentQueriesAre429() async throws {
        try await TestServer.run(yaml: "query:\n  max_concurrent: 2\n  max_queued: 1\n") { server in
            let running = (0..<3).map { _ in
                Task { try await server.query(Self.endless, extra: ["timeout_ms": 3000]) }
            }
            try await Task.sleep(for: .milliseconds(400))
            let usage = server.services.registry.database("default")?.poolUsage
            #expect(usage?.inUse == 2 && usage?.waiting == 1)
            let refused = try await server.query("SELECT 1")
            #expect(refused.status == 429)
            #expect(refused.errorCode == "too_many_queries")
            #expect(refused.headers["Retry-After"].first == "1")
            for task in running { #expect(try await task.value.status == 504) }
            #expect(try await server.query("SELECT 1").status == 200)
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
