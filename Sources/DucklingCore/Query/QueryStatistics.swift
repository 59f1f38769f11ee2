public import Foundation
import Histogram
import Synchronization

/// Counts, latencies and the slowest recent queries of the query API, per database (DESIGN.md §6).
/// Latencies go into an HDR histogram (microseconds, three significant digits), so percentiles
/// cover every query since the start at a fixed cost per record.
public final class QueryStatistics: Sendable {
    public struct Snapshot: Sendable, Codable {
        public var total: Int
        public var succeeded: Int
        public var failed: Int
        public var rejected: Int
        public var timedOut: Int
        public var cancelled: Int
        public var successRate: Double
        public var latency: Latency
        /// Queries finished in the last second and the last five seconds.
        public var lastSecond: Int
        public var lastFiveSeconds: Int
        public var slowQueries: [SlowQuery]
        public var slowThresholdMilliseconds: Double

        enum CodingKeys: String, CodingKey {
            case total, succeeded, failed, rejected, cancelled, latency
            case timedOut = "timed_out"
            case successRate = "success_rate"
            case lastSecond = "last_1s"
            case lastFiveSeconds = "last_5s"
            case slowQueries = "slow_queries"
            case slowThresholdMilliseconds = "slow_threshold_ms"
        }
    }

    /// Latency of finished queries (succeeded, failed, timed out), in milliseconds.
    public struct Latency: Sendable, Codable {
        public var count: Int
        public var p50: Double?
        public var p90: Double?
        public var p99: Double?
        public var max: Double?
        public var mean: Double?

        enum CodingKeys: String, CodingKey {
            case count
            case p50 = "p50_ms"
            case p90 = "p90_ms"
            case p99 = "p99_ms"
            case max = "max_ms"
            case mean = "mean_ms"
        }
    }

    /// A query slower than the threshold: its text (never its parameters), duration and rows.
    public struct SlowQuery: Sendable, Codable {
        public var database: String
        /// The first 500 characters of the statement.
        public var sql: String
        public var milliseconds: Double
        public var rows: Int
        public var outcome: String
        public var finishedAt: Date

        enum CodingKeys: String, CodingKey {
            case database, sql, milliseconds, rows, outcome
            case finishedAt = "finished_at"
        }
    }

    public enum Outcome: String, Sendable, CaseIterable {
        case succeeded, failed, rejected, timedOut = "timed_out", cancelled
    }

    /// What is kept for one database.
    fileprivate struct Series {
        var counts: [Outcome: Int] = [:]
        var histogram = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        /// Finished queries per whole second of the clock, the last few seconds.
        var perSecond: [(second: Int64, count: Int)] = []
        var slow: [SlowQuery] = []

        mutating func record(_ outcome: Outcome, microseconds: UInt64, second: Int64, slow query: SlowQuery?, slowLogSize: Int) {
            counts[outcome, default: 0] += 1
            if let last = perSecond.last, last.second == second {
                perSecond[perSecond.count - 1].count += 1
            } else {
                perSecond.append((second, 1))
                perSecond.removeAll { $0.second < second - 5 }
            }
            guard outcome == .succeeded || outcome == .failed || outcome == .timedOut else { return }
            _ = histogram.record(microseconds)
            if let query {
                slow.append(query)
                if slow.count > slowLogSize { slow.removeFirst(slow.count - slowLogSize) }
            }
        }
    }

    fileprivate let state = Mutex<[String: Series]>([:])
    private let slowThresholdMilliseconds: Double
    private let slowLogSize: Int
    public let enabled: Bool

    init(slowThresholdMilliseconds: Int, slowLogSize: Int = 50, enabled: Bool = true) {
        self.slowThresholdMilliseconds = Double(slowThresholdMilliseconds)
        self.slowLogSize = slowLogSize
        self.enabled = enabled
    }

    /// Records a finished query of `database`, which must be a configured database (unknown ids
    /// are refused before anything is recorded, so they cannot grow this).
    func record(_ outcome: Outcome, database: String, sql: String, milliseconds: Double, rows: Int) {
        guard enabled else { return }
        let second = Int64(ContinuousClock.now.secondsSinceStart)
        let slow = milliseconds >= slowThresholdMilliseconds && (outcome == .succeeded || outcome == .failed || outcome == .timedOut)
            ? SlowQuery(database: database, sql: String(sql.prefix(500)), milliseconds: milliseconds, rows: rows, outcome: outcome.rawValue, finishedAt: Date())
            : nil
        state.withLock { all in
            // In place: a copy of the series would copy its histogram's buckets on every query.
            all[database, default: Series()].record(outcome, microseconds: UInt64(max(0, milliseconds * 1000)), second: second,
                                                    slow: slow, slowLogSize: slowLogSize)
        }
    }

    /// The statistics of `databases` together (every database when nil).
    public func snapshot(databases: Set<String>? = nil) -> Snapshot {
        let chosen = state.withLock { all in all.filter { databases?.contains($0.key) ?? true }.map(\.value) }
        var counts: [Outcome: Int] = [:]
        var histogram = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        var slow: [SlowQuery] = []
        let now = Int64(ContinuousClock.now.secondsSinceStart)
        var lastSecond = 0
        var lastFive = 0
        for series in chosen {
            counts.merge(series.counts, uniquingKeysWith: +)
            histogram.add(series.histogram)
            slow += series.slow
            for bucket in series.perSecond {
                // The current second is still filling: "the last second" is the one before it.
                if bucket.second == now - 1 { lastSecond += bucket.count }
                if bucket.second >= now - 5 && bucket.second < now { lastFive += bucket.count }
            }
        }
        let count = { (outcome: Outcome) in counts[outcome, default: 0] }
        let total = counts.values.reduce(0, +)
        let finished = count(.succeeded) + count(.failed) + count(.timedOut)
        let recorded = histogram.totalCount > 0
        func ms(_ micros: UInt64) -> Double { Double(micros) / 1000 }
        let latency = Latency(
            count: Int(histogram.totalCount),
            p50: recorded ? ms(histogram.valueAtPercentile(50)) : nil,
            p90: recorded ? ms(histogram.valueAtPercentile(90)) : nil,
            p99: recorded ? ms(histogram.valueAtPercentile(99)) : nil,
            max: recorded ? ms(histogram.max) : nil,
            mean: recorded ? histogram.mean / 1000 : nil)
        return Snapshot(
            total: total, succeeded: count(.succeeded), failed: count(.failed), rejected: count(.rejected),
            timedOut: count(.timedOut), cancelled: count(.cancelled),
            successRate: finished == 0 ? 1 : Double(count(.succeeded)) / Double(finished),
            latency: latency, lastSecond: lastSecond, lastFiveSeconds: lastFive,
            slowQueries: Array(slow.sorted { $0.finishedAt > $1.finishedAt }.prefix(slowLogSize)),
            slowThresholdMilliseconds: slowThresholdMilliseconds)
    }
}

extension ContinuousClock.Instant {
    /// Whole seconds on the continuous clock, for per-second buckets.
    var secondsSinceStart: Double {
        (self - ContinuousClock.Instant.processStart).milliseconds / 1000
    }

    static let processStart = ContinuousClock.now
}

extension QueryStatistics {
    /// A database's latencies as Prometheus histogram buckets: how many finished queries took at
    /// most each bound, their number and their total time.
    public struct Buckets: Sendable {
        public let cumulative: [Int]
        public let count: Int
        public let sumSeconds: Double
    }

    public func latencyBuckets(database: String, boundsSeconds: [Double]) -> Buckets {
        state.withLock { all in
            guard let histogram = all[database]?.histogram, histogram.totalCount > 0 else { return Buckets(cumulative: [], count: 0, sumSeconds: 0) }
            let cumulative = boundsSeconds.map { Int(histogram.count(within: 0...UInt64($0 * 1_000_000))) }
            return Buckets(cumulative: cumulative, count: Int(histogram.totalCount), sumSeconds: histogram.mean * Double(histogram.totalCount) / 1_000_000)
        }
    }
}
