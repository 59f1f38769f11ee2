public import Foundation

/// A dataset's sync state as `GET /api/store/status` shows it (DESIGN.md §5).
public struct DatasetStatus: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable {
        case idle, syncing, ready, error
    }

    public var state: State
    /// Rows in the copy (for split datasets, in `{name}_dataset`).
    public var rows: Int?
    public var syncType: String?
    public var lastFull: Date?
    public var lastIncremental: Date?
    /// Rows read by the last incremental run.
    public var incrementalRows: Int?
    /// The watermark of each sub-table (`orders`, or `monitoring_dataset` and `monitoring_results`).
    public var watermarks: [String: String]
    public var refreshIntervalMinutes: Double?
    public var incrementalColumn: String?
    /// How incremental rows are applied: `primary_key` (merged), `append_only`, or `full` (no incremental column).
    public var merge: String
    public var truncated: Bool
    public var lastError: String?
    public var durationMs: Int?
    public var nextRun: Date?
    /// Whether source and copy row counts agreed at the last run that compared them (full runs and
    /// primary-key diffs); nil when not known.
    public var reconciled: Bool?
    public var runID: String?
    public var lastRunID: String?
    public var consecutiveFailures: Int
    /// Rows moved so far by the running sync.
    public var progressRows: Int?

    enum CodingKeys: String, CodingKey {
        case state, rows, watermarks, merge, truncated, reconciled
        case syncType = "sync_type"
        case lastFull = "last_full"
        case lastIncremental = "last_incremental"
        case incrementalRows = "incremental_rows"
        case refreshIntervalMinutes = "refresh_interval_minutes"
        case incrementalColumn = "incremental_column"
        case lastError = "last_error"
        case durationMs = "duration_ms"
        case nextRun = "next_run"
        case runID = "run_id"
        case lastRunID = "last_run_id"
        case consecutiveFailures = "consecutive_failures"
        case progressRows = "progress_rows"
    }
}
