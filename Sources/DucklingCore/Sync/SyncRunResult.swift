import Foundation

/// How a sync run ended.
public struct SyncRunResult: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable {
        case succeeded, failed, cancelled
    }

    public let runID: String
    public let dataset: String
    public let status: Status
    public let syncType: String
    /// Rows in the copy afterwards (the dataset table, or `{name}_dataset`).
    public let rows: Int?
    /// Rows moved from the source by this run.
    public let rowsRead: Int
    public let truncated: Bool
    public let durationMs: Int
    public let error: String?

    enum CodingKeys: String, CodingKey {
        case dataset, status, rows, truncated, error
        case runID = "run_id"
        case syncType = "sync_type"
        case rowsRead = "rows_read"
        case durationMs = "duration_ms"
    }
}
