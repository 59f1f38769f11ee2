import DuckDBKit

/// One reader of a source: a connection of the source instance inside one transaction, so every
/// query it runs sees the same snapshot. For PostgreSQL the transaction is REPEATABLE READ; it can
/// export its snapshot for parallel readers or import another's; its statements are limited by
/// `statement_timeout`; and an interruption cancels the running statement in PostgreSQL too.
final class SourceSession: Sendable {
    let connection: SerializedConnection
    let source: SourceSettings
    let catalog: String
    let interrupter: Interrupter
    private let backendPID: Int?
    private let registration: Interrupter.Registration?

    /// Opens a session; with `snapshot`, it imports that snapshot before anything else.
    static func open(
        on instance: SourceInstance, source: SourceSettings, catalog: String, timeoutSeconds: Int, snapshot: String?,
        interrupter: Interrupter
    ) async throws -> SourceSession {
        let connection = try SerializedConnection(database: instance.database, label: "duckling.sources.\(source.name)")
        let pid = try await connection.run(interrupter: interrupter) { duckdb -> Int? in
            try duckdb.execute("BEGIN TRANSACTION")
            guard source.kind == .postgres else {
                // MySQL and SQLite queries are DuckDB SQL over the attached catalog.
                try duckdb.execute("USE \(SQL.quoted(catalog))")
                return nil
            }
            if let snapshot {
                try duckdb.execute("CALL postgres_execute(\(SQL.literal(catalog)), \(SQL.literal("SET TRANSACTION SNAPSHOT \(SQL.literal(snapshot))")))")
            }
            try duckdb.execute("CALL postgres_execute(\(SQL.literal(catalog)), 'SET LOCAL statement_timeout = \(timeoutSeconds * 1000)')")
            let pid = try duckdb.query("SELECT pid FROM postgres_query(\(SQL.literal(catalog)), 'SELECT pg_backend_pid() AS pid')").scalar()
            if case .integer(let value) = pid { return Int(value) }
            return nil
        }
        return SourceSession(connection: connection, source: source, catalog: catalog, interrupter: interrupter,
                             backendPID: pid, instance: instance)
    }

    private init(connection: SerializedConnection, source: SourceSettings, catalog: String, interrupter: Interrupter,
                 backendPID: Int?, instance: SourceInstance) {
        self.connection = connection
        self.source = source
        self.catalog = catalog
        self.interrupter = interrupter
        self.backendPID = backendPID
        self.registration = backendPID.map { pid in
            interrupter.whenInterrupted { _ in instance.cancelPostgresBackend(pid, catalog: catalog) }
        } ?? nil
    }

    /// The PostgreSQL snapshot of this session's transaction, for parallel readers to import.
    func exportSnapshot() async throws -> String {
        let catalog = self.catalog
        let value = try await connection.run(interrupter: interrupter) { duckdb in
            try duckdb.query("SELECT snapshot FROM postgres_query(\(SQL.literal(catalog)), 'SELECT pg_export_snapshot() AS snapshot')").scalar()
        }
        guard let snapshot = value?.text else { throw SyncError.source("PostgreSQL did not export a snapshot") }
        return snapshot
    }

    /// Ends the transaction (nothing was written, so it is rolled back) even after an interruption.
    func close() async {
        interrupter.remove(registration)
        _ = try? await connection.run { $0.rollbackIfInTransaction() }
    }
}
