import DuckDBKit
import Foundation
import Synchronization

/// The in-memory DuckDB instance that reads a database's sources (DESIGN.md §3): external access on
/// and the scanner extensions loaded, unlike the locked-down instance that serves queries, which
/// never sees a source. Sources are attached read-only on first use.
final class SourceInstance: Sendable {
    let database: Database
    /// Attaches sources and cancels their queries; never used for reading data.
    private let control: SerializedConnection
    private let attached = Mutex<Set<String>>([])
    private let attaching = AsyncSemaphore(permits: 1)
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

    /// The catalog name a source is attached as.
    static func catalog(for source: SourceSettings) -> String { "source_\(source.name)" }

    /// Attaches `source` if it is not attached yet.
    func attach(_ source: SourceSettings) async throws {
        let catalog = Self.catalog(for: source)
        if attached.withLock({ $0.contains(catalog) }) { return }
        try await attaching.acquire()
        defer { attaching.release() }
        if attached.withLock({ $0.contains(catalog) }) { return }
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
        _ = attached.withLock { $0.insert(catalog) }
    }

    /// Detaches a source after a connection failure, so the next run connects afresh.
    func detach(_ source: SourceSettings) async {
        let catalog = Self.catalog(for: source)
        guard attached.withLock({ $0.remove(catalog) }) != nil else { return }
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
