import DucklingCore
import Foundation
import Hummingbird

/// `GET /api/statistics`, `POST /api/circuit-breaker/reset`, `GET /metrics/memory` and
/// `GET /metrics/performance`, each for `?db=`.
struct StatisticsController {
    let services: DucklingServices

    func addRoutes(to routes: RouteTable) {
        routes.group("/api/statistics", .read).get { _, context in try await statistics(context) }
        routes.group("/api/circuit-breaker", .write).post("/reset") { _, context in
            let id = try context.database()
            guard let breaker = services.queries.breakers[id] else { throw APIError.notFound("database_not_found", "no database with id '\(id)'") }
            breaker.reset()
            return BreakerResetResponse(message: "Circuit breaker of '\(id)' reset", circuitBreaker: breaker.snapshot)
        }
        let metrics = routes.group("/metrics", .read)
        metrics.get("/memory") { _, context in try await memory(context) }
        metrics.get("/performance") { _, context in try performance(context) }
    }

    private func database(_ context: DucklingRequestContext) throws -> ManagedDatabase {
        let id = try context.database()
        guard let database = services.registry.database(id) else { throw APIError.notFound("database_not_found", "no database with id '\(id)'") }
        return database
    }

    private func statistics(_ context: DucklingRequestContext) async throws -> StatisticsResponse {
        await Self.statistics(of: try database(context), services: services)
    }

    /// The figures of `/api/statistics` for one database.
    static func statistics(of database: ManagedDatabase, services: DucklingServices) async -> StatisticsResponse {
        let storage = database.storageBytes
        let cpu = ProcessUsage.cpuSeconds
        return StatisticsResponse(
            database: database.id,
            queries: services.queries.statistics.snapshot(databases: [database.id]),
            circuitBreaker: services.queries.breakers[database.id]?.snapshot,
            engine: try? await database.engineStatistics(),
            storage: .init(fileBytes: storage.file, walBytes: storage.wal),
            pool: database.poolUsage.map { .init(size: $0.size, inUse: $0.inUse, waiting: $0.waiting) },
            process: .init(residentBytes: ProcessUsage.residentBytes, cpuUserSeconds: cpu.user, cpuSystemSeconds: cpu.system,
                           uptimeSeconds: Int(Date().timeIntervalSince(services.startedAt))),
            health: services.automation[database.id]?.health.currentState,
            statementCache: services.queries.statementCaches[database.id]?.snapshot)
    }

    /// The data of a `system_metric` event: `/api/statistics` of every database.
    static func systemMetric(_ services: DucklingServices) async -> [UInt8] {
        var databases: [StatisticsResponse] = []
        for database in services.registry.databases { databases.append(await statistics(of: database, services: services)) }
        return BusEvent.json(SystemMetric(databases: databases))
    }

    struct SystemMetric: Encodable {
        let databases: [StatisticsResponse]
    }

    private func memory(_ context: DucklingRequestContext) async throws -> MemoryMetricsResponse {
        let database = try database(context)
        let engine = try? await database.engineStatistics()
        let budget = services.registry.memory
        return MemoryMetricsResponse(
            database: database.id, processResidentBytes: ProcessUsage.residentBytes, budgetBytes: budget.totalBytes,
            databaseLimitBytes: budget.databaseBytes, duckdbMemoryBytes: engine?.memoryBytes,
            duckdbTemporaryBytes: engine.map { $0.temporaryFiles.reduce(0) { $0 + $1.bytes } }, byTag: engine?.memory ?? [])
    }

    private func performance(_ context: DucklingRequestContext) throws -> PerformanceMetricsResponse {
        let database = try database(context)
        let queries = services.queries.statistics.snapshot(databases: [database.id])
        return PerformanceMetricsResponse(
            database: database.id, latency: queries.latency, queriesLastSecond: queries.lastSecond, queriesLastFiveSeconds: queries.lastFiveSeconds,
            successRate: queries.successRate, total: queries.total,
            pool: database.poolUsage.map { .init(size: $0.size, inUse: $0.inUse, waiting: $0.waiting) },
            circuitBreaker: services.queries.breakers[database.id]?.snapshot)
    }
}

struct StatisticsResponse: ResponseEncodable {
    struct Storage: Encodable {
        let fileBytes: Int64?
        let walBytes: Int64?

        enum CodingKeys: String, CodingKey {
            case fileBytes = "file_bytes"
            case walBytes = "wal_bytes"
        }
    }

    struct Process: Encodable {
        let residentBytes: Int64?
        let cpuUserSeconds: Double
        let cpuSystemSeconds: Double
        let uptimeSeconds: Int

        enum CodingKeys: String, CodingKey {
            case residentBytes = "resident_bytes"
            case cpuUserSeconds = "cpu_user_seconds"
            case cpuSystemSeconds = "cpu_system_seconds"
            case uptimeSeconds = "uptime_seconds"
        }
    }

    let success = true
    let database: String
    let queries: QueryStatistics.Snapshot
    let circuitBreaker: CircuitBreaker.Snapshot?
    let engine: EngineStatistics?
    let storage: Storage
    let pool: DetailedHealthResponse.DatabaseHealth.Pool?
    let process: Process
    let health: HealthMonitor.State?
    let statementCache: StatementCacheCounters.Snapshot?

    enum CodingKeys: String, CodingKey {
        case success, database, queries, engine, storage, pool, process, health
        case circuitBreaker = "circuit_breaker"
        case statementCache = "statement_cache"
    }
}

struct BreakerResetResponse: ResponseEncodable {
    let success = true
    let message: String
    let circuitBreaker: CircuitBreaker.Snapshot

    enum CodingKeys: String, CodingKey {
        case success, message
        case circuitBreaker = "circuit_breaker"
    }
}

struct MemoryMetricsResponse: ResponseEncodable {
    let success = true
    let database: String
    let processResidentBytes: Int64?
    let budgetBytes: UInt64
    let databaseLimitBytes: UInt64
    let duckdbMemoryBytes: Int64?
    let duckdbTemporaryBytes: Int64?
    let byTag: [EngineStatistics.MemoryTag]

    enum CodingKeys: String, CodingKey {
        case success, database
        case processResidentBytes = "process_resident_bytes"
        case budgetBytes = "budget_bytes"
        case databaseLimitBytes = "database_limit_bytes"
        case duckdbMemoryBytes = "duckdb_memory_bytes"
        case duckdbTemporaryBytes = "duckdb_temporary_bytes"
        case byTag = "by_tag"
    }
}

struct PerformanceMetricsResponse: ResponseEncodable {
    let success = true
    let database: String
    let latency: QueryStatistics.Latency
    let queriesLastSecond: Int
    let queriesLastFiveSeconds: Int
    let successRate: Double
    let total: Int
    let pool: DetailedHealthResponse.DatabaseHealth.Pool?
    let circuitBreaker: CircuitBreaker.Snapshot?

    enum CodingKeys: String, CodingKey {
        case success, database, latency, pool, total
        case queriesLastSecond = "queries_last_1s"
        case queriesLastFiveSeconds = "queries_last_5s"
        case successRate = "success_rate"
        case circuitBreaker = "circuit_breaker"
    }
}
