import DuckDBKit
import ObjectStorage

/// One reader of a source: a connection of the source instance. A transactional session runs
/// every query in one transaction, so they all see one snapshot (REPEATABLE READ for PostgreSQL),
/// and can export that snapshot for parallel readers or import another's. A single-statement read
/// needs no transaction: the scanner reads one snapshot in parallel on its own.
final class SourceSession: Sendable {
    let connection: SerializedConnection
    let source: SourceSettings
    let catalog: String
    let interrupter: Interrupter

    /// Opens a session; with `snapshot`, it imports that snapshot before anything else.
    static func open(
        on instance: SourceInstance, source: SourceSettings, catalog: String, transactional: Bool, snapshot: String?,
        interrupter: Interrupter
    ) async throws -> SourceSession {
        let connection = try await BlockingIO.run {
            try SerializedConnection(database: instance.database, label: "duckling.sources.\(source.name)")
        }
        let session = SourceSession(connection: connection, source: source, catalog: catalog, interrupter: interrupter)
        do {
            try await connection.run(interrupter: interrupter) { duckdb in
                if source.kind != .postgres {
                    // MySQL and SQLite queries are DuckDB SQL over the attached catalog.
                    try duckdb.execute("USE \(SQL.quoted(catalog))")
                }
                guard transactional else { return }
                try duckdb.execute("BEGIN TRANSACTION")
                if source.kind == .postgres, let snapshot {
                    try duckdb.execute("CALL postgres_execute(\(SQL.literal(catalog)), \(SQL.literal("SET TRANSACTION SNAPSHOT \(SQL.literal(snapshot))")))")
                }
            }
        } catch {
            // Closed here, on its own queue, not dropped wherever the last reference goes.
            await session.close()
            throw error
        }
        return session
    }

    private init(connection: SerializedConnection, source: SourceSettings, catalog: String, interrupter: Interrupter) {
        self.connection = connection
        self.source = source
        self.catalog = catalog
        self.interrupter = interrupter
    }

    /// The PostgreSQL snapshot of this (transactional) session, for parallel readers to import.
    func exportSnapshot() async throws -> String {
        let catalog = self.catalog
        let value = try await connection.run(interrupter: interrupter) { duckdb in
            try duckdb.query("SELECT snapshot FROM postgres_query(\(SQL.literal(catalog)), 'SELECT pg_export_snapshot() AS snapshot')").scalar()
        }
        guard let snapshot = value?.text else { throw SyncError.source("PostgreSQL did not export a snapshot") }
        return snapshot
    }

    /// Ends the transaction, if any (nothing was written, so it is rolled back), even after an
    /// interruption, and closes the connection.
    func close() async {
        connection.schedule { $0.rollbackIfInTransaction() }
        await connection.close()
    }
}
