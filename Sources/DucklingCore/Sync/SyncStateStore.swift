import DuckDBKit
import Foundation

/// Sync metadata inside each database file, in schema `_duckling`, so it commits atomically with
/// the data it describes: per-dataset state, per-sub-table watermarks, and a log of runs.
enum SyncStateStore {
    /// What is kept between runs about one dataset.
    struct Persisted: Sendable, Equatable {
        var syncType: String?
        var lastFull: Date?
        var lastIncremental: Date?
        var rows: Int?
        var incrementalRows: Int?
        var truncated = false
        var lastError: String?
        var durationMs: Int?
        var reconciled: Bool?
        var consecutiveFailures = 0
        var forceFull = false
        var lastRunID: String?
        var lastStatus: String?
        var lastAttempt: Date?
        var watermarks: [String: Watermark] = [:]
    }

    static func createTables(on connection: Connection) throws {
        try connection.execute("""
            CREATE TABLE IF NOT EXISTS _duckling.sync_datasets (
                dataset VARCHAR PRIMARY KEY, sync_type VARCHAR, last_full TIMESTAMPTZ, last_incremental TIMESTAMPTZ,
                "rows" BIGINT, incremental_rows BIGINT, truncated BOOLEAN NOT NULL DEFAULT false, last_error VARCHAR,
                duration_ms BIGINT, reconciled BOOLEAN, consecutive_failures INTEGER NOT NULL DEFAULT 0,
                force_full BOOLEAN NOT NULL DEFAULT false, last_run_id VARCHAR, last_status VARCHAR, last_attempt TIMESTAMPTZ);
            CREATE TABLE IF NOT EXISTS _duckling.sync_watermarks (
                dataset VARCHAR, sub_table VARCHAR, "column" VARCHAR, value VARCHAR, type VARCHAR,
                PRIMARY KEY (dataset, sub_table));
            ALTER TABLE _duckling.sync_watermarks ADD COLUMN IF NOT EXISTS boundary_key VARCHAR;
            CREATE TABLE IF NOT EXISTS _duckling.sync_log (
                run_id VARCHAR PRIMARY KEY, dataset VARCHAR, trigger VARCHAR, sync_type VARCHAR, status VARCHAR,
                started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, rows_read BIGINT, "rows" BIGINT,
                truncated BOOLEAN, error VARCHAR);
            """)
    }

    /// Runs still marked running were cut off by a crash; their transaction never committed.
    static func markInterruptedRuns(on connection: Connection) throws {
        try connection.query(
            "UPDATE _duckling.sync_log SET status = 'interrupted', error = 'the server stopped during the run; nothing it wrote was kept', finished_at = $1 WHERE status = 'running'",
            [.timestampTZ(micros: micros(Date()))])
    }

    static func load(on connection: Connection) throws -> [String: Persisted] {
        var result: [String: Persisted] = [:]
        let rows = try connection.query("""
            SELECT dataset, sync_type, last_full, last_incremental, "rows", incremental_rows, truncated, last_error,
                   duration_ms, reconciled, consecutive_failures, force_full, last_run_id, last_status, last_attempt
            FROM _duckling.sync_datasets
            """).rows()
        for row in rows {
            guard case .varchar(let dataset) = row[0] else { continue }
            result[dataset] = Persisted(
                syncType: row[1].text, lastFull: date(row[2]), lastIncremental: date(row[3]), rows: int(row[4]),
                incrementalRows: int(row[5]), truncated: row[6] == .boolean(true), lastError: row[7].text,
                durationMs: int(row[8]), reconciled: bool(row[9]), consecutiveFailures: int(row[10]) ?? 0,
                forceFull: row[11] == .boolean(true), lastRunID: row[12].text, lastStatus: row[13].text, lastAttempt: date(row[14]))
        }
        for row in try connection.query("SELECT dataset, sub_table, value, type, boundary_key FROM _duckling.sync_watermarks").rows() {
            guard let dataset = row[0].text, let sub = row[1].text, let value = row[2].text, let type = row[3].text else { continue }
            result[dataset, default: Persisted()].watermarks[sub] = Watermark(value: value, type: type, key: try Watermark.key(fromJSON: row[4].text))
        }
        return result
    }

    static func recordStart(runID: String, dataset: String, trigger: String, syncType: String, at date: Date, on connection: Connection) throws {
        try connection.query(
            "INSERT INTO _duckling.sync_log (run_id, dataset, trigger, sync_type, status, started_at) VALUES ($1, $2, $3, $4, 'running', $5)",
            [.varchar(runID), .varchar(dataset), .varchar(trigger), .varchar(syncType), .timestampTZ(micros: micros(date))])
    }

    /// Writes the outcome of a successful run; called inside the run's own transaction, so it
    /// commits with the data.
    static func recordSuccess(
        dataset: String, state: Persisted, watermarkColumn: String?, runID: String, rowsRead: Int, finishedAt: Date,
        on connection: Connection
    ) throws {
        try save(dataset: dataset, state, on: connection)
        try connection.query("DELETE FROM _duckling.sync_watermarks WHERE dataset = $1", [.varchar(dataset)])
        for (sub, watermark) in state.watermarks.sorted(by: { $0.key < $1.key }) {
            try connection.query(
                "INSERT INTO _duckling.sync_watermarks (dataset, sub_table, \"column\", value, type, boundary_key) VALUES ($1, $2, $3, $4, $5, $6)",
                [.varchar(dataset), .varchar(sub), watermarkColumn.map(DuckDBValue.varchar) ?? .null, .varchar(watermark.value), .varchar(watermark.type),
                 value(try watermark.keyJSON())])
        }
        try finishLog(runID: runID, status: "succeeded", rowsRead: rowsRead, rows: state.rows, truncated: state.truncated,
                      error: nil, at: finishedAt, on: connection)
        // The run knows only now whether it rebuilt in full (first run, schema change).
        try connection.query("UPDATE _duckling.sync_log SET sync_type = $2 WHERE run_id = $1",
                             [.varchar(runID), state.syncType.map(DuckDBValue.varchar) ?? .null])
    }

    /// Records a failed run: the error and failure count change, the watermarks do not.
    static func recordFailure(dataset: String, state: Persisted, runID: String, rowsRead: Int, finishedAt: Date, on connection: Connection) throws {
        try connection.transaction {
            try save(dataset: dataset, state, on: connection)
            try finishLog(runID: runID, status: state.lastStatus ?? "failed", rowsRead: rowsRead, rows: nil, truncated: nil,
                          error: state.lastError, at: finishedAt, on: connection)
        }
    }

    /// Clears a dataset's watermarks and asks for a full rebuild next time.
    static func resetWatermarks(dataset: String, on connection: Connection) throws {
        try connection.transaction {
            try connection.query("DELETE FROM _duckling.sync_watermarks WHERE dataset = $1", [.varchar(dataset)])
            try connection.query("UPDATE _duckling.sync_datasets SET force_full = true WHERE dataset = $1", [.varchar(dataset)])
        }
    }

    /// Deletes log entries older than `days` (cleanup, `RETENTION_DAYS`); returns how many.
    static func pruneLog(olderThan days: Int, on connection: Connection) throws -> Int {
        let cutoff = Date().addingTimeInterval(-Double(days) * 86400)
        return try connection.query("DELETE FROM _duckling.sync_log WHERE started_at < $1", [.timestampTZ(micros: micros(cutoff))]).rowsChanged
    }

    private static func save(dataset: String, _ state: Persisted, on connection: Connection) throws {
        try connection.query("""
            INSERT OR REPLACE INTO _duckling.sync_datasets VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
            """, [
                .varchar(dataset), value(state.syncType), value(state.lastFull), value(state.lastIncremental), value(state.rows),
                value(state.incrementalRows), .boolean(state.truncated), value(state.lastError), value(state.durationMs),
                state.reconciled.map(DuckDBValue.boolean) ?? .null, .integer(Int32(clamping: state.consecutiveFailures)),
                .boolean(state.forceFull), value(state.lastRunID), value(state.lastStatus), value(state.lastAttempt),
            ])
    }

    private static func finishLog(runID: String, status: String, rowsRead: Int, rows: Int?, truncated: Bool?, error: String?, at date: Date, on connection: Connection) throws {
        try connection.query(
            "UPDATE _duckling.sync_log SET status = $2, finished_at = $3, rows_read = $4, \"rows\" = $5, truncated = $6, error = $7 WHERE run_id = $1",
            [.varchar(runID), .varchar(status), .timestampTZ(micros: micros(date)), .bigint(Int64(rowsRead)), value(rows),
             truncated.map(DuckDBValue.boolean) ?? .null, value(error)])
    }

    // MARK: - Values

    static func micros(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    // Shared with the automation's records (TaskStore).
    static func value(_ text: String?) -> DuckDBValue { text.map(DuckDBValue.varchar) ?? .null }
    static func value(_ number: Int?) -> DuckDBValue { number.map { .bigint(Int64($0)) } ?? .null }
    static func value(_ date: Date?) -> DuckDBValue { date.map { .timestampTZ(micros: micros($0)) } ?? .null }

    static func date(_ value: DuckDBValue) -> Date? {
        guard case .timestampTZ(let micros) = value else { return nil }
        return Date(timeIntervalSince1970: Double(micros) / 1_000_000)
    }

    static func int(_ value: DuckDBValue) -> Int? {
        switch value {
        case .bigint(let n): Int(n)
        case .integer(let n): Int(n)
        default: nil
        }
    }

    private static func bool(_ value: DuckDBValue) -> Bool? {
        if case .boolean(let flag) = value { return flag }
        return nil
    }
}
