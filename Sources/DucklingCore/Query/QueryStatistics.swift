public import Foundation
import Synchronization

/// Counts, latencies and the slowest recent queries of the query API (DESIGN.md §6).
public final class QueryStatistics: Sendable {
    public struct Snapshot: Sendable, Codable {
        public var total: Int
        public var succeeded: Int
        public var failed: Int
        public var rejected: Int
        public var timedOut: Int
        public var cancelled: Int
        public var successRate: Double
        public var p50Milliseconds: Double?
        public var p95Milliseconds: Double?
        public var p99Milliseconds: Double?
        public var slowQueries: [SlowQuery]

        enum CodingKeys: String, CodingKey {
            case total, succeeded, failed, rejected, cancelled
            case timedOut = "timed_out"
            case successRate = "success_rate"
            case p50Milliseconds = "p50_ms"
            case p95Milliseconds = "p95_ms"
            case p99Milliseconds = "p99_ms"
            case slowQueries = "slow_queries"
        }
    }

    public struct SlowQuery: Sendable, Codable {
        public var database: String
        /// The first 500 characters of the statement.
        public var sql: String
        public var milliseconds: Double
        public var finishedAt: Date

        enum CodingKeys: String, CodingKey {
            case database, sql, milliseconds
            case finishedAt = "finished_at"
        }
    }

    public enum Outcome: String, Sendable {
        case succeeded, failed, rejected, timedOut = "timed_out", cancelled
    }

    /// What is kept for one database.
    private struct Series {
        var counts: [Outcome: Int] = [:]
        /// The most recent durations (ms) of completed queries, for percentiles.
        var recent: [Double] = []
        var next = 0
        var slow: [SlowQuery] = []
    }

    /// By database id: a key sees only the databases it may use.
    private let state = Mutex<[String: Series]>([:])
    private let window = 2048
    private let slowThresholdMilliseconds: Double

    init(slowThresholdMilliseconds: Int) {
        self.slowThresholdMilliseconds = Double(slowThresholdMilliseconds)
    }

    /// Records a finished query of `database`, which must be a configured database (unknown ids
    /// are refused before anything is recorded, so they cannot grow this).
    func record(_ outcome: Outcome, database: String, sql: String, milliseconds: Double) {
        state.withLock { all in
            var series = all[database, default: Series()]
            defer { all[database] = series }
            series.counts[outcome, default: 0] += 1
            guard outcome == .succeeded || outcome == .failed || outcome == .timedOut else { return }
            if series.recent.count < window {
                series.recent.append(milliseconds)
            } else {
                series.recent[series.next] = milliseconds
                series.next = (series.next + 1) % window
            }
            if milliseconds >= slowThresholdMilliseconds {
                series.slow.append(SlowQuery(database: database, sql: String(sql.prefix(500)), milliseconds: milliseconds, finishedAt: Date()))
                if series.slow.count > 50 { series.slow.removeFirst(series.slow.count - 50) }
            }
        }
    }

    /// The statistics of `databases` together (every database when nil).
    public func snapshot(databases: Set<String>? = nil) -> Snapshot {
        let chosen = state.withLock { all in all.filter { databases?.contains($0.key) ?? true }.map(\.value) }
        var counts: [Outcome: Int] = [:]
        var recent: [Double] = []
        var slow: [SlowQuery] = []
        for series in chosen {
            counts.merge(series.counts, uniquingKeysWith: +)
            recent += series.recent
            slow += series.slow
        }
        let count = { (outcome: Outcome) in counts[outcome, default: 0] }
        let total = counts.values.reduce(0, +)
        let sorted = recent.sorted()
        func percentile(_ p: Double) -> Double? {
            sorted.isEmpty ? nil : sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
        }
        let finished = count(.succeeded) + count(.failed) + count(.timedOut)
        return Snapshot(
            total: total, succeeded: count(.succeeded), failed: count(.failed), rejected: count(.rejected),
            timedOut: count(.timedOut), cancelled: count(.cancelled),
            successRate: finished == 0 ? 1 : Double(count(.succeeded)) / Double(finished),
            p50Milliseconds: percentile(0.5), p95Milliseconds: percentile(0.95), p99Milliseconds: percentile(0.99),
            slowQueries: Array(slow.sorted { $0.finishedAt > $1.finishedAt }.prefix(50)))
    }
}
