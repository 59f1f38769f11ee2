import DucklingTestSupport
import Foundation
import Testing

@Suite struct HealthRoutesTests {
    @Test func livenessAndReadinessArePublic() async throws {
        try await TestServer.run { server in
            let health = try await server.request(.GET, "/health", key: .none)
            #expect(health.status == 200)
            #expect(try health.json["status"] as? String == "ok")
            let ready = try await server.request(.GET, "/ready", key: .none)
            #expect(ready.status == 200)
            #expect(try ready.json["status"] as? String == "ready")
        }
    }

    @Test func readinessFailsWhileADatabaseIsClosed() async throws {
        try await TestServer.run { server in
            await server.services.registry.database("default")?.close(reason: "test")
            let ready = try await server.request(.GET, "/ready", key: .none)
            #expect(ready.status == 503)
            #expect(try ready.json["unavailable"] as? Int == 1)
            #expect(!ready.text.contains("default"), "the public answer names a database: \(ready.text)")
            #expect(try await server.request(.GET, "/health", key: .none).status == 200)
        }
    }

    @Test func detailedHealthNeedsAKeyAndDescribesEveryDatabase() async throws {
        try await TestServer.run(yaml: "databases:\n  lms: {}\n") { server in
            #expect(try await server.request(.GET, "/api/health", key: .none).status == 401)
            let reply = try await server.request(.GET, "/api/health", key: .readOnly)
            #expect(reply.status == 200)
            let json = try reply.json
            #expect(json["duckdb_version"] as? String == "v1.5.5")
            let databases = try #require(json["databases"] as? [[String: Any]])
            #expect(Set(databases.compactMap { $0["id"] as? String }) == ["default", "lms"])
            #expect(databases.allSatisfy { $0["state"] as? String == "open" && ($0["file_bytes"] as? Int ?? 0) > 0 })
            #expect((databases.first?["pool"] as? [String: Any])?["size"] as? Int == 8)
        }
    }
}
