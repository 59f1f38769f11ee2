import Foundation
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

/// `/metrics` and the shipped alerts, checked by Prometheus' own `promtool` (installed by
/// scripts/install-deps).
@Suite struct PrometheusToolTests {
    @Test func promtoolAcceptsTheMetricsAndTheAlerts() async throws {
        let promtool = "/usr/bin/promtool"
        try #require(FileManager.default.isExecutableFile(atPath: promtool), "promtool is missing: run scripts/install-deps")
        try await TestServer.run(environment: ["AUTO_START_SYNC": "false"]) { server in
            _ = try await server.query("SELECT 1")
            _ = try await server.query("SELEC 1")
            let metrics = try await server.request(.GET, "/metrics").text
            #expect(metrics.contains("# TYPE duckling_query_duration_seconds histogram"))
            #expect(metrics.contains(#"duckling_database_up{database="default"} 1"#))
            #expect(metrics.contains(#"duckling_database_health_state{database="default",state="healthy"} 1"#))
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString).txt")
            try metrics.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            let checked = try run("/bin/sh", ["-c", "\(promtool) check metrics < \(file.path)"])
            #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
        }
        let docs = try repositoryRoot() + "/docs"
        let rules = try run(promtool, ["check", "rules", "prometheus-alerts.yml"], directory: docs)
        #expect(rules.status == 0, "\(rules.stdout)\(rules.stderr)")
        let tested = try run(promtool, ["test", "rules", "prometheus-alerts.test.yml"], directory: docs)
        #expect(tested.status == 0, "\(tested.stdout)\(tested.stderr)")
    }
}
