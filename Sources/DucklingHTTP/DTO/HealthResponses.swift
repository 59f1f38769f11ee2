import DucklingCore

/// `GET /health` and `GET /ready`.
struct StatusResponse: Encodable {
    let success: Bool
    let status: String
    /// How many databases are not open (readiness).
    var unavailable: Int?
}

/// `GET /api/health`: the state of every database and of the query API.
struct DetailedHealthResponse: Encodable {
    struct DatabaseHealth: Encodable {
        let id: String
        let path: String
        let state: String
        let fileBytes: Int64?
        let walBytes: Int64?
        let pool: Pool?
        let health: HealthMonitor.State?
        let problems: [String]
        let circuitBreaker: CircuitBreaker.Snapshot?

        struct Pool: Encodable {
            let size: Int
            let inUse: Int
            let waiting: Int

            enum CodingKeys: String, CodingKey {
                case size
                case inUse = "in_use"
                case waiting
            }
        }

        enum CodingKeys: String, CodingKey {
            case id, path, state, pool, health, problems
            case circuitBreaker = "circuit_breaker"
            case fileBytes = "file_bytes"
            case walBytes = "wal_bytes"
        }
    }

    /// The one memory budget every DuckDB instance of the process shares, and each kind's part.
    struct Memory: Encodable {
        let budgetBytes: UInt64
        let databaseBytes: UInt64
        let sourceBytes: UInt64
        let transientBytes: UInt64

        init(_ budget: MemoryBudget) {
            budgetBytes = budget.totalBytes
            databaseBytes = budget.databaseBytes
            sourceBytes = budget.sourceBytes
            transientBytes = budget.transientBytes
        }

        enum CodingKeys: String, CodingKey {
            case budgetBytes = "budget_bytes"
            case databaseBytes = "database_bytes"
            case sourceBytes = "source_bytes"
            case transientBytes = "transient_bytes"
        }
    }

    let success = true
    let status: String
    let version: String
    let duckdbVersion: String
    let uptimeSeconds: Int
    let databases: [DatabaseHealth]
    let queries: QueryStatistics.Snapshot
    let memory: Memory

    enum CodingKeys: String, CodingKey {
        case success, status, version, databases, queries, memory
        case duckdbVersion = "duckdb_version"
        case uptimeSeconds = "uptime_seconds"
    }
}
