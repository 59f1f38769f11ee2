import DucklingHTTP
import DucklingTestSupport
import Foundation
import NIOHTTP1
import Testing

/// Access is declared per route group and enforced by middleware; a key sees only the databases
/// it may use, and requests for unknown databases leave no trace.
@Suite struct AccessTests {
    static let yaml = """
        query: { slow_query_ms: 0 }
        databases:
          lms:
            api_keys: ["lms-only-key"]
        """

    /// The kinds of key a route meets, and whether each may pass a route of `access` on `default`.
    private enum Caller: CaseIterable {
        case nobody, readOnly, otherDatabase, thisDatabase, admin

        var key: TestServer.Key {
            switch self {
            case .nobody: .none
            case .readOnly: .readOnly
            case .otherDatabase: .custom("lms-only-key")
            case .thisDatabase: .custom("default-only-key")
            case .admin: .admin
            }
        }

        func expected(for route: RouteEntry) -> Int? {
            switch (self, route.access) {
            case (_, .public): nil
            case (.nobody, _): 401
            case (.admin, _): nil
            case (.otherDatabase, _): [.database, .lake, .everyDatabase].contains(route.scope) || route.access == .admin ? 403 : nil
            // A key for one database is for that database only: not for the lake, nor for what
            // tells of every database.
            case (.thisDatabase, _) where route.scope == .lake || route.scope == .everyDatabase: 403
            case (.readOnly, .read), (.thisDatabase, .read), (.thisDatabase, .write): nil
            case (.readOnly, _), (.thisDatabase, .admin): 403
            }
        }
    }

    static let streams: Set = ["/events/stream", "/events/lineage", "/events/jobs", "/events/metrics"]

    @Test func everyRouteEnforcesItsAccessLevelWithEveryKindOfKey() async throws {
        let yaml = Self.yaml + "\n  default:\n    api_keys: [\"default-only-key\"]\n"
        try await TestServer.run(yaml: yaml) { server in
            let routes = server.services.routes.all
            #expect(routes.count >= 15, "\(routes)")
            #expect(Set(routes.map { "\($0.method) \($0.path)" }).count == routes.count, "a route is registered twice")
            #expect(routes.filter { $0.access == .public }.map(\.path).sorted() == ["/", "/assets/:file", "/docs", "/health", "/openapi.json", "/ready"])
            for route in routes {
                let path = route.path.replacingOccurrences(of: ":dataset", with: "nope")
                for caller in Caller.allCases {
                    // An event stream a caller may open never ends: EventStreamTests open them.
                    if Self.streams.contains(route.path), caller.expected(for: route) == nil { continue }
                    let reply = try await server.request(HTTPMethod(rawValue: route.method), path, key: caller.key, body: route.method == "GET" ? nil : "{}")
                    if let status = caller.expected(for: route) {
                        #expect(reply.status == status, "\(caller) \(route.method) \(route.path) (\(route.access)) → \(reply.status) \(reply.text)")
                    } else {
                        #expect(reply.status != 401 && reply.status != 403, "\(caller) \(route.method) \(route.path) (\(route.access)) → \(reply.status) \(reply.text)")
                    }
                }
            }
        }
    }

    @Test func healthShowsOnlyTheDatabasesAKeyMayUse() async throws {
        try await TestServer.run(yaml: Self.yaml) { server in
            // Every query is slow here (slow_query_ms: 0), so each lands in the slow-query log.
            #expect(try await server.query("SELECT 'lms secret' AS s", db: "lms").status == 200)
            #expect(try await server.query("SELECT 'default business' AS s").status == 200)
            let lms = try await server.request(.GET, "/api/health", key: .custom("lms-only-key"))
            #expect(lms.status == 200)
            #expect(lms.text.contains("lms secret"))
            #expect(!lms.text.contains("default business"), "\(lms.text)")
            let databases = try #require(try lms.json["databases"] as? [[String: Any]])
            #expect(databases.compactMap { $0["id"] as? String } == ["lms"])
            let admin = try await server.request(.GET, "/api/health")
            #expect(admin.text.contains("lms secret") && admin.text.contains("default business"))
        }
    }

    @Test func unknownDatabasesAreRefusedBeforeAnythingIsRecorded() async throws {
        try await TestServer.run(yaml: Self.yaml) { server in
            let before = server.services.queries.statistics.snapshot()
            for index in 0..<5 {
                let id = "random-\(index)-\(UUID().uuidString.prefix(8))"
                let query = try await server.query("SELECT 1", db: id)
                #expect(query.status == 404 && query.errorCode == "database_not_found")
                #expect(try await server.request(.GET, "/api/store/status?db=\(id)").status == 404)
                #expect(try await server.request(.GET, "/api/backups?db=\(id)").status == 404)
                // A key for another database is refused without learning whether it exists.
                #expect(try await server.query("SELECT 1", db: id, key: .custom("lms-only-key")).status == 403)
            }
            // Every route that works on a database answers 404 for one that does not exist.
            for route in server.services.routes.all where route.scope == .database {
                let path = route.path.replacingOccurrences(of: ":dataset", with: "nope") + "?db=random-route"
                let reply = try await server.request(HTTPMethod(rawValue: route.method), path, body: route.method == "GET" ? nil : "{}")
                #expect(reply.status == 404 && reply.errorCode == "database_not_found", "\(route.method) \(route.path) → \(reply.status)")
            }
            let metrics = try await server.request(.GET, "/metrics")
            #expect(!metrics.text.contains("random-"), "unknown ids added metric series")
            #expect(server.services.queries.statistics.snapshot().total == before.total)
        }
    }
}
