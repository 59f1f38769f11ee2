import DucklingCore
import Foundation

/// The metrics read from Duckling's state when `/metrics` is scraped (query counts and latency
/// from the statistics, breaker, health, tasks, syncs, backups, files), in Prometheus' text
/// format: units in names, `_total` counters, labels of bounded cardinality (database, dataset,
/// task, state, outcome), each family's samples right after its `HELP` and `TYPE`.
struct ScrapeMetrics {
    typealias Sample = (name: String, labels: [String: String], value: Double)

    private var lines: [String] = []

    /// Query latency buckets, in seconds.
    static let latencyBuckets: [Double] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    static func render(_ services: DucklingServices, backupSizes: [String: (bytes: Int64, createdAt: Date)]) -> String {
        var out = ScrapeMetrics()
        let databases = services.registry.databases
        let now = Date()
        let statistics = services.queries.statistics
        let breakers = databases.compactMap { database in services.queries.breakers[database.id].map { (database.id, $0.snapshot) } }

        out.family("duckling_queries_total", "counter", "Queries of the query API by database and outcome.", databases.flatMap { database in
            let snapshot = statistics.snapshot(databases: [database.id])
            let counts: [(QueryStatistics.Outcome, Int)] = [
                (.succeeded, snapshot.succeeded), (.failed, snapshot.failed), (.rejected, snapshot.rejected),
                (.timedOut, snapshot.timedOut), (.cancelled, snapshot.cancelled),
            ]
            return counts.filter { $0.1 > 0 }.map { ("duckling_queries_total", ["database": database.id, "outcome": $0.0.rawValue], Double($0.1)) }
        })
        out.family("duckling_query_duration_seconds", "histogram", "Time from a query's arrival until its last byte, for finished queries.",
                   databases.flatMap { database -> [Sample] in
            let histogram = statistics.latencyBuckets(database: database.id, boundsSeconds: latencyBuckets)
            guard histogram.count > 0 else { return [] }
            let labels = ["database": database.id]
            return zip(latencyBuckets, histogram.cumulative).map { ("duckling_query_duration_seconds_bucket", labels.merging(["le": number($0)]) { $1 }, Double($1)) }
                + [("duckling_query_duration_seconds_bucket", labels.merging(["le": "+Inf"]) { $1 }, Double(histogram.count)),
                   ("duckling_query_duration_seconds_sum", labels, histogram.sumSeconds),
                   ("duckling_query_duration_seconds_count", labels, Double(histogram.count))]
        })

        out.family("duckling_database_up", "gauge", "1 when the database serves queries, else 0.",
                   databases.map { ("duckling_database_up", ["database": $0.id], $0.isOpen ? 1 : 0) })
        out.family("duckling_database_health_state", "gauge", "1 for the database's current health state (healthy, degraded, unhealthy, failed).",
                   databases.flatMap { database -> [Sample] in
            let state = services.automation[database.id]?.health.currentState ?? .healthy
            return [HealthMonitor.State.healthy, .degraded, .unhealthy, .failed].map {
                ("duckling_database_health_state", ["database": database.id, "state": $0.rawValue], $0 == state ? 1 : 0)
            }
        })
        out.family("duckling_circuit_breaker_state", "gauge", "1 for the state of the database's circuit breaker (closed, open, half_open).",
                   breakers.flatMap { id, breaker in
            [CircuitBreaker.State.closed, .open, .halfOpen].map { ("duckling_circuit_breaker_state", ["database": id, "state": $0.rawValue], $0 == breaker.state ? 1 : 0) }
        })
        out.family("duckling_circuit_breaker_opened_total", "counter", "Times the database's circuit breaker opened.",
                   breakers.map { ("duckling_circuit_breaker_opened_total", ["database": $0.0], Double($0.1.timesOpened)) })

        let storage = databases.map { ($0.id, $0.storageBytes) }
        out.family("duckling_database_file_size_bytes", "gauge", "Size of the database file.",
                   storage.compactMap { id, bytes in bytes.file.map { ("duckling_database_file_size_bytes", ["database": id], Double($0)) } })
        out.family("duckling_database_wal_size_bytes", "gauge", "Size of the database's write-ahead log (0 when there is none).",
                   storage.map { ("duckling_database_wal_size_bytes", ["database": $0.0], Double($0.1.wal ?? 0)) })

        let tasks = databases.flatMap { database in
            (services.automation[database.id]?.taskCounters ?? []).map { (["database": database.id, "task": $0.task.rawValue], $0) }
        }
        out.family("duckling_task_last_success_timestamp_seconds", "gauge", "When each automation task last succeeded (Unix time).",
                   tasks.compactMap { labels, counter in counter.lastSuccess.map { ("duckling_task_last_success_timestamp_seconds", labels, $0.timeIntervalSince1970) } })
        out.family("duckling_task_failures_total", "counter", "Failed runs of each automation task since the server started.",
                   tasks.map { ("duckling_task_failures_total", $0.0, Double($0.1.failures)) })
        out.family("duckling_task_running", "gauge", "1 while an automation task runs.",
                   tasks.map { ("duckling_task_running", $0.0, $0.1.running ? 1 : 0) })

        let datasets = services.syncScheduler.engines.flatMap { engine in
            engine.status().sorted { $0.key < $1.key }.map { (["database": engine.database.id, "dataset": $0.key], $0.value) }
        }
        out.family("duckling_sync_rows", "gauge", "Rows in each dataset's copy after its last successful run.",
                   datasets.compactMap { labels, status in status.rows.map { ("duckling_sync_rows", labels, Double($0)) } })
        out.family("duckling_sync_duration_seconds", "gauge", "How long each dataset's last run took.",
                   datasets.compactMap { labels, status in status.durationMs.map { ("duckling_sync_duration_seconds", labels, Double($0) / 1000) } })
        out.family("duckling_sync_last_success_timestamp_seconds", "gauge", "When each dataset last synced successfully (Unix time).",
                   datasets.compactMap { labels, status in
            [status.lastFull, status.lastIncremental].compactMap { $0 }.max().map { ("duckling_sync_last_success_timestamp_seconds", labels, $0.timeIntervalSince1970) }
        })
        out.family("duckling_sync_consecutive_failures", "gauge", "Failed runs of each dataset since its last success.",
                   datasets.map { ("duckling_sync_consecutive_failures", $0.0, Double($0.1.consecutiveFailures)) })

        let backups = databases.compactMap { database in backupSizes[database.id].map { (["database": database.id], $0) } }
        out.family("duckling_backup_size_bytes", "gauge", "Size of the newest verified local backup.",
                   backups.map { ("duckling_backup_size_bytes", $0.0, Double($0.1.bytes)) })
        out.family("duckling_backup_last_success_timestamp_seconds", "gauge", "When the newest verified local backup was taken (Unix time).",
                   backups.map { ("duckling_backup_last_success_timestamp_seconds", $0.0, $0.1.createdAt.timeIntervalSince1970) })
        out.family("duckling_backup_age_seconds", "gauge", "Age of the newest verified local backup.",
                   backups.map { ("duckling_backup_age_seconds", $0.0, now.timeIntervalSince($0.1.createdAt)) })

        let forwarding = services.lineage?.forwarder?.statistics
        out.family("duckling_lineage_forward_queued", "gauge", "Lineage events waiting to be forwarded to OPENLINEAGE_URL.",
                   forwarding.map { [("duckling_lineage_forward_queued", [:], Double($0.queued ?? 0))] } ?? [])
        out.family("duckling_lineage_forward_events_total", "counter", "Lineage events forwarded (sent), refused by the receiver as malformed (rejected), or not queued because the queue was full (dropped).",
                   forwarding.map { statistics in
            [("sent", statistics.sent), ("rejected", statistics.rejected), ("dropped", statistics.dropped)]
                .map { ("duckling_lineage_forward_events_total", ["outcome": $0.0], Double($0.1)) }
        } ?? [])
        out.family("duckling_lineage_forward_failed_attempts_total", "counter", "Attempts to forward a lineage event that will be retried (receiver down, slow, refusing the key, redirecting, 5xx).",
                   forwarding.map { [("duckling_lineage_forward_failed_attempts_total", [:], Double($0.failedAttempts))] } ?? [])
        out.family("duckling_process_resident_memory_bytes", "gauge", "Resident memory of the Duckling process.",
                   ProcessUsage.residentBytes.map { [("duckling_process_resident_memory_bytes", [:], Double($0))] } ?? [])
        out.family("duckling_memory_budget_bytes", "gauge", "The memory all DuckDB instances of the process share (memory_limit).",
                   [("duckling_memory_budget_bytes", [:], Double(services.registry.memory.totalBytes))])
        out.family("duckling_uptime_seconds", "gauge", "Seconds since the server started.",
                   [("duckling_uptime_seconds", [:], now.timeIntervalSince(services.startedAt))])
        return out.lines.joined(separator: "\n") + "\n"
    }

    private mutating func family(_ name: String, _ type: String, _ help: String, _ samples: [Sample]) {
        lines.append("# HELP \(name) \(help)")
        lines.append("# TYPE \(name) \(type)")
        for sample in samples {
            let labels = sample.labels.isEmpty ? ""
                : "{" + sample.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(Self.escaped($0.value))\"" }.joined(separator: ",") + "}"
            lines.append("\(sample.name)\(labels) \(Self.number(sample.value))")
        }
    }

    private static func escaped(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
