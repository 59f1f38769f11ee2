import DuckDBKit
import Foundation

/// The automation's memory inside each database file, in schema `_duckling`: the last run of each
/// task (so a restart neither repeats a task that just ran nor skips one that is overdue), and the
/// history of task runs, with sync runs (kept in `sync_log`) shown beside them in `task_history`.
enum TaskStore {
    private typealias Values = SyncStateStore

    /// What is kept about one task between runs.
    struct Record: Sendable, Equatable {
        var lastStarted: Date?
        var lastFinished: Date?
        var lastSuccess: Date?
        var lastOutcome: String?
        var lastError: String?
        var durationMs: Int?
        var consecutiveFailures = 0
    }

    /// One finished run, for the history.
    struct Run: Sendable {
        let runID: String
        let task: AutomationTaskKind
        let trigger: String
        let startedAt: Date
        let finishedAt: Date
        let outcome: String
        let error: String?
        let rows: Int?
        let bytes: Int64?
    }

    static func createTables(on connection: Connection) throws {
        try connection.execute("""
            CREATE TABLE IF NOT EXISTS _duckling.automation_tasks (
                task VARCHAR PRIMARY KEY, last_started TIMESTAMPTZ, last_finished TIMESTAMPTZ, last_success TIMESTAMPTZ,
                last_outcome VARCHAR, last_error VARCHAR, duration_ms BIGINT, consecutive_failures INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE IF NOT EXISTS _duckling.task_runs (
                run_id VARCHAR PRIMARY KEY, task VARCHAR, trigger VARCHAR, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
                outcome VARCHAR, error VARCHAR, "rows" BIGINT, bytes BIGINT);
            """)
        let hasSyncLog = try connection.query("""
            SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = '_duckling' AND table_name = 'sync_log'
            """).scalar() != .bigint(0)
        try connection.execute(hasSyncLog ? """
            CREATE OR REPLACE VIEW _duckling.task_history AS
            SELECT run_id, task, trigger, started_at, finished_at, outcome, error, "rows", bytes FROM _duckling.task_runs
            UNION ALL
            SELECT run_id, 'sync:' || dataset, trigger, started_at, finished_at, status, error, "rows", NULL FROM _duckling.sync_log
            """ : """
            CREATE OR REPLACE VIEW _duckling.task_history AS
            SELECT run_id, task, trigger, started_at, finished_at, outcome, error, "rows", bytes FROM _duckling.task_runs
            """)
    }

    static func load(on connection: Connection) throws -> [AutomationTaskKind: Record] {
        var records: [AutomationTaskKind: Record] = [:]
        let rows = try connection.query("""
            SELECT task, last_started, last_finished, last_success, last_outcome, last_error, duration_ms, consecutive_failures
            FROM _duckling.automation_tasks
            """).rows()
        for row in rows {
            guard let name = row[0].text, let kind = AutomationTaskKind(rawValue: name) else { continue }
            records[kind] = Record(
                lastStarted: Values.date(row[1]), lastFinished: Values.date(row[2]), lastSuccess: Values.date(row[3]), lastOutcome: row[4].text,
                lastError: row[5].text, durationMs: Values.int(row[6]), consecutiveFailures: Values.int(row[7]) ?? 0)
        }
        return records
    }

    /// Saves a task's record and, when `run` is given, adds it to the history; one transaction.
    static func save(_ kind: AutomationTaskKind, _ record: Record, run: Run?, on connection: Connection) throws {
        try connection.transaction {
            try connection.query("INSERT OR REPLACE INTO _duckling.automation_tasks VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", [
                .varchar(kind.rawValue), Values.value(record.lastStarted), Values.value(record.lastFinished), Values.value(record.lastSuccess),
                Values.value(record.lastOutcome), Values.value(record.lastError), Values.value(record.durationMs),
                .integer(Int32(clamping: record.consecutiveFailures)),
            ])
            if let run {
                try connection.query("INSERT INTO _duckling.task_runs VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", [
                    .varchar(run.runID), .varchar(run.task.rawValue), .varchar(run.trigger), Values.value(run.startedAt), Values.value(run.finishedAt),
                    .varchar(run.outcome), Values.value(run.error), Values.value(run.rows), run.bytes.map { .bigint($0) } ?? .null,
                ])
            }
        }
    }

    /// Deletes task runs older than `days` (cleanup, `RETENTION_DAYS`); returns how many.
    static func prune(olderThan days: Int, on connection: Connection) throws -> Int {
        let cutoff = Date().addingTimeInterval(-Double(days) * 86_400)
        return try connection.query("DELETE FROM _duckling.task_runs WHERE started_at < $1", [Values.value(cutoff)]).rowsChanged
    }
}
