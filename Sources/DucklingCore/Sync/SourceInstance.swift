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
            extensionDirectory: extensions))
        self.control = try SerializedConnection(database: database, label: "duckling.sources.control")
        self.redactor = redactor

    }

    /// Attaches `source` read-only for one run, under a name of its own. Each run attaches afresh:
    /// the scanner caches catalog entries, so an attachment kept across runs would not see a
    /// source table's new columns; and concurrent runs stay independent.
    func attach(_ source: SourceSettings, for runID: String) async throws -> String {
        let catalog = "source_\(source.name)_\(runID.prefix(8))"
        let (type, extensionName, url) = switch source.kind {
        case .postgres: ("postgres", "postgres", source.url.value)
        case .mysql: ("mysql", "mysql", source.url.value)
        case .sqlite: ("sqlite", "sqlite", String(source.url.value.dropFirst("sqlite:".count)))
        }
        let redactor = self.redactor
        do {
            try await control.run { connection in
                try connection.execute("LOAD \(extensionName)")
                try connection.execute("ATTACH \(SQL.literal(url)) AS \(SQL.quoted(catalog)) (TYPE \(type), READ_ONLY)")
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

    /// Asks PostgreSQL to cancel the statement of backend `pid` (a DuckDB interrupt cannot stop a
    /// statement PostgreSQL is still running).
    func cancelPostgresBackend(_ pid: Int, catalog: String) {
        control.schedule { connection in
            _ = try? connection.query("SELECT * FROM postgres_query(\(SQL.literal(catalog)), 'SELECT pg_cancel_backend(\(pid))')").rows()
        }
    }
}
