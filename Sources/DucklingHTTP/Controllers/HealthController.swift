import DuckDBKit
import DucklingCore
import Foundation
import Hummingbird

/// `GET /health` (liveness), `GET /ready` (readiness) — both public — and `GET /api/health`.
struct HealthController {
    let registry: DatabaseRegistry
    let queries: QueryService
    let automation: [String: AutomationService]
    let startedAt: Date

    func addRoutes(to routes: RouteTable) {
        let open = routes.group("", .public, scope: .server)
        open.get("/health") { _, _ in
            StatusResponse(success: true, status: "ok")
        }
        open.get("/ready") { _, _ in
            // Public: how many databases are not ready, never which (their ids are for keys that may use them).
            let closed = registry.databases.filter { !$0.isOpen }
            guard closed.isEmpty else {
                return EditedResponse(status: .serviceUnavailable, response: StatusResponse(success: false, status: "not_ready", unavailable: closed.count))
            }
            return EditedResponse(status: .ok, response: StatusResponse(success: true, status: "ready"))
        }
        // Any key, but it sees only the databases it may use: their files, pools and slow queries.
        routes.group("/api/health", .read, scope: .server).get { _, context in
            let visible = registry.databases.filter { database in
                context.principal?.may(.read, database: database.id) ?? false
            }
            let databases = visible.map { database in
                let storage = database.storageBytes
                let pool = database.poolUsage.map {
                    DetailedHealthResponse.DatabaseHealth.Pool(size: $0.size, inUse: $0.inUse, waiting: $0.waiting)
                }
                return DetailedHealthResponse.DatabaseHealth(
                    id: database.id, path: database.settings.path, state: database.isOpen ? "open" : database.failure != nil ? "failed" : "unavailable",
                    fileBytes: storage.file, walBytes: storage.wal, pool: pool,
                    health: automation[database.id]?.health.currentState, problems: automation[database.id]?.health.lastReport?.problems ?? [],
                    circuitBreaker: queries.breakers[database.id]?.snapshot)
            }
            return DetailedHealthResponse(
                status: databases.allSatisfy { $0.state == "open" } ? "ok" : "degraded",
                version: DucklingVersion.current,
                duckdbVersion: Database.libraryVersion,
                uptimeSeconds: Int(Date().timeIntervalSince(startedAt)),
                databases: databases,
                queries: queries.statistics.snapshot(databases: Set(visible.map(\.id))),
                memory: .init(registry.memory))
        }
    }
}

extension StatusResponse: ResponseEncodable {}
extension DetailedHealthResponse: ResponseEncodable {}
