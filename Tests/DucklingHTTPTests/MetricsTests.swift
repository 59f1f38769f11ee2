import DucklingTestSupport
import Testing

@Suite struct MetricsTests {
    @Test func requestsAndQueriesAreCounted() async throws {
        try await TestServer.run { server in
            _ = try await server.query("SELECT 1")
            _ = try await server.query("SELECT 1")
            _ = try await server.query("CREATE TABLE t (i INT)")
            let reply = try await server.request(.GET, "/metrics")
            #expect(reply.status == 200)
            #expect(reply.headers["Content-Type"].first?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = reply.text
            #expect(text.contains(#"http_requests_total{method="POST",route="/api/query",status="200"} 2"#), "\(text)")
            #expect(text.contains(#"http_requests_total{method="POST",route="/api/query",status="403"} 1"#))
            #expect(text.contains(#"duckling_queries_total{database="default",outcome="succeeded"} 2"#))
            #expect(text.contains(#"duckling_queries_total{database="default",outcome="rejected"} 1"#))
            #expect(text.contains("http_request_duration_seconds_bucket"))
            #expect(text.contains("duckling_query_duration_seconds_count"))
        }
    }
}
