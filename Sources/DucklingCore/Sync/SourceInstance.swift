import DuckDBKit
import Foundation

/// The in-memory DuckDB instance that reads a database's sources (DESIGN.md §3): external access on
/// and the scanner extensions loaded, unlike the locked-down instance that serves queries, which
/// never sees a source. Sources are attached read-only on first use.
final class SourceInstance: Sendable {
    let database: Database
    /// Attaches sources and cancels their queries; never used for reading data.
    private let control: SerializedConnection
    let redactor: SecretRedactor

    init(engine: EngineSettings, redactor: SecretRedactor) throws {
        guard let extensions = engine.extensionDirectory ?? Database.installedExtensionDirectory else {
            throw SyncError.setup("cannot find the DuckDB extension directory (install DuckDB with scripts/install-duckdb)")
        }
        let megabytes = ProcessInfo.processInfo.physicalMemory / 1_048_576 / 5
        self.database = try Database(path: nil, configuration: DatabaseConfiguration(
            memoryLimit: "\(max(512, megabytes))MB",
            threads: engine.threads,
            tempDirectory: engine.tempDirectory,
            extensionDirectory: extensions,
            // A copy does not keep the source's row order, and without it DuckDB streams results
            // through a cheaper buffer (the ordered one polls under a lock while it refills).
            additionalSettings: ["preserve_insertion_order": "false"]))
        // Reads hand their rows to the main instance through `chunk_sink(token, …)`.
        try database.connect().registerChunkSinkFunction()
        self.control = try SerializedConnection(database: database, label: "duckling.sources.control")
        self.redactor = redactor
    }

    /// Starts loading the scanner extensions of `kinds` in the background, so the first run does
    /// not wait for it (loading checks each extension's signature over tens of megabytes). A run's
    /// attach queues behind the load; a failure here is reported by that attach.
    func preload(_ kinds: Set<SourceSettings.Kind>) {
        for kind in kinds {
            control.schedule { connection in
                _ = try? connection.execute("LOAD \(Self.scanner(of: kind))")
            }
        }
    }

    /// The scanner extension of a kind of source, which is also its `ATTACH` type.
    private static func scanner(of kind: SourceSettings.Kind) -> String {
        switch kind {
        case .postgres: "postgres"
        case .mysql: "mysql"
        case .sqlite: "sqlite"
        }
    }

    /// Attaches `source` read-only for one run, under a name of its own. Each run attaches afresh:
    /// the scanner caches catalog entries, so an attachment kept across runs would not see a
    /// source table's new columns; and concurrent runs stay independent.
    ///
    /// PostgreSQL connections of the run carry its statement timeout and an application name
    /// (``applicationName(for:)``), so its statements can be found and cancelled.
    func attach(_ source: SourceSettings, for runID: String, timeoutSeconds: Int) async throws -> String {
        let catalog = "source_\(source.name)_\(runID.prefix(8))"
        let url = switch source.kind {
        case .postgres: Self.postgresURL(source.url.value, runID: runID, timeoutSeconds: timeoutSeconds)
        case .mysql: source.url.value
        case .sqlite: String(source.url.value.dropFirst("sqlite:".count))
        }
        let scanner = Self.scanner(of: source.kind)
        let redactor = self.redactor
        do {
            try await control.run { connection in
                try connection.execute("LOAD \(scanner)")
                try connection.execute("ATTACH \(SQL.literal(url)) AS \(SQL.quoted(catalog)) (TYPE \(scanner), READ_ONLY)")
            }
        } catch let error as DuckDBError {
            throw SyncError.source(redactor.redact(error.message))
        }
        return catalog
    }

    /// Detaches a run's attachment.
    func detach(_ catalog: String) async {
        // Nothing to report if it fails: the attachment then just lives until the process ends.
        _ = try? await control.run { try $0.execute("DETACH DATABASE IF EXISTS \(SQL.quoted(catalog))") }
    }

    /// The `application_name` of a run's PostgreSQL connections.
    static func applicationName(for runID: String) -> String { "duckling-\(runID.prefix(8))" }

    /// The source URL with the run's application name and statement timeout added.
    static func postgresURL(_ url: String, runID: String, timeoutSeconds: Int) -> String {
        let options = "application_name=\(applicationName(for: runID))&options=-c%20statement_timeout%3D\(timeoutSeconds * 1000)"
        return url + (url.contains("?") ? "&" : "?") + options
    }

    /// Asks PostgreSQL to cancel every statement of a run (a DuckDB interrupt cannot stop a
    /// statement PostgreSQL is still running).
    func cancelPostgresStatements(of runID: String, catalog: String) {
        let query = "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity WHERE application_name = '\(Self.applicationName(for: runID))' AND pid <> pg_backend_pid()"
        control.schedule { connection in
            // Best effort: if it fails, PostgreSQL's statement_timeout still ends the statement.
            _ = try? connection.query("SELECT * FROM postgres_query(\(SQL.literal(catalog)), \(SQL.literal(query)))").rows()
        }
    }
}
