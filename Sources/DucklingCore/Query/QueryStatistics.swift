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

    private struct State {
        var counts: [Outcome: Int] = [:]
        /// The most recent durations (ms) of completed queries, for percentiles.
        var recent: [Double] = []
        var next = 0
        var slow: [SlowQuery] = []
    }

    private let state = Mutex(State())
    private let window = 2048
    private let slowThresholdMilliseconds: Double

    init(slowThresholdMilliseconds: Int) {
        self.slowThresholdMilliseconds = Double(slowThresholdMilliseconds)
    }

    func record(_ outcome: Outcome, database: String, sql: String, milliseconds: Double) {
        state.withLock { state in
            state.counts[outcome, default: 0] += 1
            guard outcome == .succeeded || outcome == .failed || outcome == .timedOut else { return }
            if state.recent.count < window {
                state.recent.append(milliseconds)
            } else {
                state.recent[state.next] = milliseconds
                state.next = (state.next + 1) % window
            }
            if milliseconds >= slowThresholdMilliseconds {
                state.slow.append(SlowQuery(database: database, sql: String(sql.prefix(500)), milliseconds: milliseconds, finishedAt: Date()))
                if state.slow.count > 50 { state.slow.removeFirst(state.slow.count - 50) }
            }
        }
    }

    public func snapshot() -> Snapshot {
        state.withLock { state in
            let counts = state.counts
            let count = { (outcome: Outcome) in counts[outcome, default: 0] }
            let total = state.counts.values.reduce(0, +)
            let sorted = state.recent.sorted()
            func percentile(_ p: Double) -> Double? {
                sorted.isEmpty ? nil : sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
            }
            let finished = count(.succeeded) + count(.failed) + count(.timedOut)
            return Snapshot(
                total: total, succeeded: count(.succeeded), failed: count(.failed), rejected: count(.rejected),
                timedOut: count(.timedOut), cancelled: count(.cancelled),
                successRate: finished == 0 ? 1 : Double(count(.succeeded)) / Double(finished),
                p50Milliseconds: percentile(0.5), p95Milliseconds: percentile(0.95), p99Milliseconds: percentile(0.99),
                slowQueries: state.slow.reversed())
        }
    }
}
