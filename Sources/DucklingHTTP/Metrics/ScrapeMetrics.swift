import DucklingCore
import Foundation

/// The metrics read from Duckling's state when `/metrics` is scraped (query counts and latency
/// from the statistics, breaker, health, tasks, syncs, backups, files), in Prometheus' text
/// format: units in names, `_total` counters, labels of bounded cardinality (database, dataset,
/// task, state, outcome).
struct ScrapeMetrics {
    private var lines: [String] = []

    /// Query latency buckets, in seconds.
    static let latencyBuckets: [Double] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    static func render(_ services: DucklingServices, backupSizes: [String: (bytes: Int64, createdAt: Date)]) -> String {
        var out = ScrapeMetrics()
        let databases = services.registry.databases
        let now = Date()

        out.family("duckling_queries_total", "counter", "Queries of the query API by database and outcome.")
        for database in databases {
            let snapshot = services.queries.statistics.snapshot(databases: [database.id])
            let counts: [(QueryStatistics.Outcome, Int)] = [
                (.succeeded, snapshot.succeeded), (.failed, snapshot.failed), (.rejected, snapshot.rejected),
                (.timedOut, snapshot.timedOut), (.cancelled, snapshot.cancelled),
            ]
            for (outcome, count) in counts where count > 0 {
                out.sample("duckling_queries_total", ["database": database.id, "outcome": outcome.rawValue], Double(count))
            }
        }
        out.family("duckling_query_duration_seconds", "histogram", "Time from a query's arrival until its last byte, for finished queries.")
        for database in databases {
            let histogram = services.queries.statistics.latencyBuckets(database: database.id, boundsSeconds: latencyBuckets)
            guard histogram.count > 0 else { continue }
            for (bound, count) in zip(latencyBuckets, histogram.cumulative) {
                out.sample("duckling_query_duration_seconds_bucket", ["database": database.id, "le": Self.number(bound)], Double(count))
            }
            out.sample("duckling_query_duration_seconds_bucket", ["database": database.id, "le": "+Inf"], Double(histogram.count))
            out.sample("duckling_query_duration_seconds_sum", ["database": database.id], histogram.sumSeconds)
            out.sample("duckling_query_duration_seconds_count", ["database": database.id], Double(histogram.count))
        }

        out.family("duckling_database_up", "gauge", "1 when the database serves queries, else 0.")
        for database in databases { out.sample("duckling_database_up", ["database": database.id], database.isOpen ? 1 : 0) }
        out.family("duckling_database_health_state", "gauge", "1 for the database's current health state (healthy, degraded, unhealthy, failed).")
        for database in databases {
            let state = services.automation[database.id]?.health.currentState ?? .healthy
            for candidate in [HealthMonitor.State.healthy, .degraded, .unhealthy, .failed] {
                out.sample("duckling_database_health_state", ["database": database.id, "state": candidate.rawValue], candidate == state ? 1 : 0)
            }
        }
        out.family("duckling_circuit_breaker_state", "gauge", "1 for the state of the database's circuit breaker (closed, open, half_open).")
        for database in databases {
            guard let breaker = services.queries.breakers[database.id]?.snapshot else { continue }
            for candidate in [CircuitBreaker.State.closed, .open, .halfOpen] {
                out.sample("duckling_circuit_breaker_state", ["database": database.id, "state": candidate.rawValue], candidate == breaker.state ? 1 : 0)
            }
        }
        out.family("duckling_circuit_breaker_opened_total", "counter", "Times the database's circuit breaker opened.")
        for database in databases {
            guard let breaker = services.queries.breakers[database.id]?.snapshot else { continue }
            out.sample("duckling_circuit_breaker_opened_total", ["database": database.id], Double(breaker.timesOpened))
        }
        out.family("duckling_database_file_size_bytes", "gauge", "Size of the database file.")
        out.family("duckling_database_wal_size_bytes", "gauge", "Size of the database's write-ahead log (0 when there is none).")
        for database in databases {
            let storage = database.storageBytes
            if let file = storage.file { out.sample("duckling_database_file_size_bytes", ["database": database.id], Double(file)) }
            out.sample("duckling_database_wal_size_bytes", ["database": database.id], Double(storage.wal ?? 0))
        }

        out.family("duckling_task_last_success_timestamp_seconds", "gauge", "When each automation task last succeeded (Unix time).")
        out.family("duckling_task_failures_total", "counter", "Failed runs of each automation task since the server started.")
        out.family("duckling_task_running", "gauge", "1 while an automation task runs.")
        for database in databases {
            guard let automation = services.automation[database.id] else { continue }
            for counter in automation.taskCounters {
                let labels = ["database": database.id, "task": counter.task.rawValue]
                if let success = counter.lastSuccess {
                    out.sample("duckling_task_last_success_timestamp_seconds", labels, success.timeIntervalSince1970)
                }
                out.sample("duckling_task_failures_total", labels, Double(counter.failures))
                out.sample("duckling_task_running", labels, counter.running ? 1 : 0)
            }
        }

        out.family("duckling_sync_rows", "gauge", "Rows in each dataset's copy after its last successful run.")
        out.family("duckling_sync_duration_seconds", "gauge", "How long each dataset's last run took.")
        out.family("duckling_sync_last_success_timestamp_seconds", "gauge", "When each dataset last synced successfully (Unix time).")
        out.family("duckling_sync_consecutive_failures", "gauge", "Failed runs of each dataset since its last success.")
        for engine in services.syncScheduler.engines {
            for (dataset, status) in engine.status().sorted(by: { $0.key < $1.key }) {
                let labels = ["database": engine.database.id, "dataset": dataset]
                if let rows = status.rows { out.sample("duckling_sync_rows", labels, Double(rows)) }
                if let duration = status.durationMs { out.sample("duckling_sync_duration_seconds", labels, Double(duration) / 1000) }
                if let last = [status.lastFull, status.lastIncremental].compactMap({ $0 }).max() {
                    out.sample("duckling_sync_last_success_timestamp_seconds", labels, last.timeIntervalSince1970)
                }
                out.sample("duckling_sync_consecutive_failures", labels, Double(status.consecutiveFailures))
            }
        }

        out.family("duckling_backup_size_bytes", "gauge", "Size of the newest verified local backup.")
        out.family("duckling_backup_last_success_timestamp_seconds", "gauge", "When the newest verified local backup was taken (Unix time).")
        out.family("duckling_backup_age_seconds", "gauge", "Age of the newest verified local backup.")
        for database in databases {
            guard let newest = backupSizes[database.id] else { continue }
            out.sample("duckling_backup_size_bytes", ["database": database.id], Double(newest.bytes))
            out.sample("duckling_backup_last_success_timestamp_seconds", ["database": database.id], newest.createdAt.timeIntervalSince1970)
            out.sample("duckling_backup_age_seconds", ["database": database.id], now.timeIntervalSince(newest.createdAt))
        }

        out.family("duckling_process_resident_memory_bytes", "gauge", "Resident memory of the Duckling process.")
        if let resident = ProcessUsage.residentBytes { out.sample("duckling_process_resident_memory_bytes", [:], Double(resident)) }
        out.family("duckling_memory_budget_bytes", "gauge", "The memory all DuckDB instances of the process share (memory_limit).")
        out.sample("duckling_memory_budget_bytes", [:], Double(services.registry.memory.totalBytes))
        out.family("duckling_uptime_seconds", "gauge", "Seconds since the server started.")
        out.sample("duckling_uptime_seconds", [:], now.timeIntervalSince(services.startedAt))
        return out.lines.joined(separator: "\n") + "\n"
    }

    private mutating func family(_ name: String, _ type: String, _ help: String) {
        lines.append("# HELP \(name) \(help)")
        lines.append("# TYPE \(name) \(type)")
    }

    private mutating func sample(_ name: String, _ labels: [String: String], _ value: Double) {
        let rendered = labels.isEmpty ? "" : "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(Self.escaped($0.value))\"" }.joined(separator: ",") + "}"
        lines.append("\(name)\(rendered) \(Self.number(value))")
    }

    private static func escaped(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
