import DuckDBKit
import Foundation
import Logging
import ObjectStorage

/// The in-memory DuckDB instance that reads a database's sources (DESIGN.md §3): external access on
/// and the scanner extensions loaded, unlike the locked-down instance that serves queries, which
/// never sees a source. Each run attaches its source read-only on a connection of its own.
final class SourceInstance: Sendable {
    let database: Database
    /// Loads extensions in the background; never used by a run.
    private let loader: SerializedConnection
    let redactor: SecretRedactor

    /// Opens the instance with `memoryLimit` of the process's budget. Blocks: call it off the
    /// cooperative pool.
    init(engine: EngineSettings, memoryLimit: String, redactor: SecretRedactor) throws {
        guard let extensions = engine.extensionDirectory ?? Database.installedExtensionDirectory else {
            throw SyncError.setup("cannot find the DuckDB extension directory (install DuckDB with scripts/install-duckdb)")
        }
        self.database = try Database(path: nil, configuration: DatabaseConfiguration(
            memoryLimit: memoryLimit,
            threads: engine.threads,
            tempDirectory: engine.tempDirectory,
            extensionDirectory: extensions,
            // A copy does not keep the source's row order, and without it DuckDB streams results
            // through a cheaper buffer (the ordered one polls under a lock while it refills).
            additionalSettings: ["preserve_insertion_order": "false"]))
        do {
            // Reads hand their rows to the main instance through `chunk_sink(token, …)`.
            let setup = try database.connect()
            defer { setup.close() }
            try setup.registerChunkSinkFunction()
            self.loader = try SerializedConnection(database: database, label: "duckling.sources.load")
        } catch {
            database.close()
            throw error
        }
        self.redactor = redactor
    }

    /// Starts loading the scanner extensions of `kinds` in the background, so the first run does
    /// not wait for it (loading checks each extension's signature over tens of megabytes). A run's
    /// own `LOAD` waits for it; a failure here is reported by that run.
    func preload(_ kinds: Set<SourceSettings.Kind>, logger: Logger) {
        for kind in kinds {
            loader.schedule { connection in
                do {
                    try connection.execute("LOAD \(Self.scanner(of: kind))")
                } catch {
                    logger.debug("preloading a scanner extension failed", metadata: ["duckling.error": .string(String(describing: error))])
                }
            }
        }
    }

    /// Closes the instance and waits until DuckDB has freed it.
    func close(logger: Logger) async {
        await loader.close()
        await BlockingIO.runLogged(logger) { [database] in database.close() }
        if await !database.waitUntilReleased(within: .seconds(30)) {
            logger.warning("the source instance did not close: a run still holds a connection")
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

    /// Attaches `source` read-only for one run, under a name of its own, on a connection of the
    /// run's own (so an attach that hangs holds up no other run). Each run attaches afresh: the
    /// scanner caches catalog entries, so an attachment kept across runs would not see a source
    /// table's new columns; and concurrent runs stay independent.
    ///
    /// PostgreSQL connections of the run carry its statement timeout, a connect timeout and an
    /// application name (``applicationName(for:)``), so its statements can be found and cancelled.
    /// `scope` names the run's database for failpoints.
    func attach(_ source: SourceSettings, for runID: String, timeoutSeconds: Int, interrupter: Interrupter, scope: String) async throws -> SourceAttachment {
        let catalog = "source_\(source.name)_\(runID.prefix(8))"
        let url = switch source.kind {
        case .postgres: Self.postgresURL(source.url.value, runID: runID, timeoutSeconds: timeoutSeconds, connectTimeoutSeconds: source.connectTimeoutSeconds)
        case .mysql: source.url.value
        case .sqlite: String(source.url.value.dropFirst("sqlite:".count))
        }
        let scanner = Self.scanner(of: source.kind)
        let control = try await BlockingIO.run { [database] in
            try SerializedConnection(database: database, label: "duckling.sources.\(source.name).control")
        }
        do {
            try await control.run(interrupter: interrupter) { connection in
                try connection.execute("LOAD \(scanner)")
                try connection.execute("ATTACH \(SQL.literal(url)) AS \(SQL.quoted(catalog)) (TYPE \(scanner), READ_ONLY)")
            }
        } catch {
            await control.close()
            if let error = error as? DuckDBError { throw SyncError.source(redactor.redact(error.message)) }
            throw error
        }
        return SourceAttachment(catalog: catalog, control: control, runID: runID, redactor: redactor, scope: scope)
    }

    /// The `application_name` of a run's PostgreSQL connections.
    static func applicationName(for runID: String) -> String { "duckling-\(runID.prefix(8))" }

    /// The source URL with the run's application name, connect timeout and statement timeout added.
    static func postgresURL(_ url: String, runID: String, timeoutSeconds: Int, connectTimeoutSeconds: Int) -> String {
        let options = "application_name=\(applicationName(for: runID))&connect_timeout=\(connectTimeoutSeconds)"
            + "&options=-c%20statement_timeout%3D\(timeoutSeconds * 1000)"
        return url + (url.contains("?") ? "&" : "?") + options
    }
}

/// A source attached for one run, with the connection that attached it (and detaches it, and
/// cancels the run's PostgreSQL statements).
struct SourceAttachment: Sendable {
    let catalog: String
    let control: SerializedConnection
    let runID: String
    let redactor: SecretRedactor
    let scope: String

    /// Asks PostgreSQL to cancel every statement of the run (a DuckDB interrupt cannot stop a
    /// statement PostgreSQL is still running). Queued on the control connection without waiting.
    func cancelPostgresStatements(logger: Logger) {
        let query = "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity WHERE application_name = '\(SourceInstance.applicationName(for: runID))' AND pid <> pg_backend_pid()"
        control.schedule { [catalog, redactor] connection in
            do {
                _ = try connection.query("SELECT * FROM postgres_query(\(SQL.literal(catalog)), \(SQL.literal(query)))").rows()
            } catch {
                // PostgreSQL's statement_timeout still ends the statement.
                logger.warning("could not cancel a sync's PostgreSQL statements", metadata: ["duckling.error": .string(redactor.redact(String(describing: error)))])
            }
        }
    }

    /// Detaches the source and closes the control connection. A failed detach is logged: the
    /// attachment then lives until the process ends.
    func detach(logger: Logger) async {
        do {
            try await control.run { [catalog, scope] in
                try Failpoints.hitBlocking("sync.detach", scope: scope)
                try $0.execute("DETACH DATABASE IF EXISTS \(SQL.quoted(catalog))")
            }
        } catch {
            logger.warning("could not detach a sync's source", metadata: [
                "duckling.catalog": .string(catalog), "duckling.error": .string(redactor.redact(String(describing: error))),
            ])
        }
        await control.close()
    }
}
