import DuckDBKit
import Foundation
import Logging
import ObjectStorage

/// One open DuckDB instance of a database file: its read pool and its single write connection.
///
/// After setup the instance is locked down (`enable_external_access=false` from the start,
/// `lock_configuration=true` after): SQL run on it cannot reach files, the network, other
/// catalogs, extensions or settings.
final class DatabaseInstance: Sendable {
    let database: Database
    let readers: ConnectionPool
    /// The connection for exclusive writes (maintenance, a backup's checkpoint).
    let writer: SerializedConnection
    /// Connections for sync runs, which write concurrently (each in its own transaction).
    let syncWriters: ConnectionPool
    let writeGate = WriteGate()
    /// How many connections load a sync run's staging tables at once: one per DuckDB thread.
    let loaderCount: Int
    /// What caller SQL may call on this instance, learned from it once.
    let gate: ReadOnlyGate
    let readOnly: Bool
    /// When the instance opened: spill files older than this are not its own.
    let openedAt = Date()

    /// Opens the file read-write (creating it and `_duckling`), or read-only for tools that must
    /// not change it; a read-only open needs the file to exist. Blocks: call it off the cooperative pool.
    init(settings: DatabaseSettings, engine: EngineSettings, memoryLimit: String, readers: Int, readOnly: Bool = false) throws {
        let label = "duckling.\(settings.id)"
        if readOnly {
            guard FileManager.default.fileExists(atPath: settings.path) else {
                throw DuckDBError(code: .openFailed, message: "no database file at \(settings.path)")
            }
        } else {
            let directory = (settings.path as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        // A spill directory of this database's own: DuckDB lets SQL on an instance without external
        // access read its temp directory, which must then hold nothing but DuckDB's spill files.
        let temp = engine.tempDirectory.map { $0 + "/" + settings.id }
        if let temp {
            try FileManager.default.createDirectory(atPath: temp, withIntermediateDirectories: true)
        }
        let database = try Database(path: settings.path, configuration: DatabaseConfiguration(
            memoryLimit: memoryLimit,
            threads: engine.threads,
            tempDirectory: temp,
            accessMode: readOnly ? .readOnly : .automatic,
            allowsExternalAccess: false,
            // Nothing here stores secrets; without this, merely listing them touches ~/.duckdb.
            additionalSettings: ["allow_persistent_secrets": "false"]))
        do {
            let setup = try database.connect()
            defer { setup.close() }
            if !readOnly {
                try setup.execute("CREATE SCHEMA IF NOT EXISTS _duckling")
                try Self.dropStagingTables(on: setup)
            }
            // Sync runs write what they read from a source instance through `chunk_stream(token)`.
            try setup.registerChunkStreamFunction()
            try setup.execute("SET lock_configuration = true")
            self.gate = try ReadOnlyGate(learningFrom: setup)
            self.readers = try ConnectionPool(database: database, size: readers, label: label + ".read")
            self.writer = try SerializedConnection(database: database, label: label + ".write")
            self.syncWriters = try ConnectionPool(database: database, size: max(1, engine.syncWorkers), label: label + ".sync")
        } catch {
            database.close()
            throw error
        }
        self.database = database
        self.readOnly = readOnly
        self.loaderCount = engine.threads ?? ProcessInfo.processInfo.activeProcessorCount
    }

    /// Drops staging tables a sync run left behind when the process died while it loaded them
    /// (no run is going while the instance opens).
    static func dropStagingTables(on connection: Connection) throws {
        let tables = try connection.query("""
            SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main'
            """).rows().compactMap { $0.first?.text }
        for table in tables where StagingTable.isStaging(table) {
            try connection.execute("DROP TABLE main.\(SQL.quoted(table))")
        }
    }

    /// Waits until every running read and write has finished and keeps every connection, so
    /// nothing can use the instance again; queries still running after `patience` are interrupted
    /// (sync runs are stopped by their engine, which pauses them first). If the wait is cancelled,
    /// what was taken is given back.
    func drain(patience: Duration = .seconds(30)) async throws {
        try await writeGate.withExclusive {
            try await readers.drain(patience: patience)
            do {
                try await syncWriters.drain()
            } catch {
                readers.undrain()
                throw error
            }
        }
    }

    /// Closes a drained instance: checkpoints (when `checkpoint`, so the file opens with no WAL to
    /// replay), closes every connection and the database, and waits until DuckDB has released the
    /// file. Returns false if that did not happen within `patience` (some connection is still
    /// open elsewhere); the file must then not be opened again in this process.
    func close(checkpoint: Bool, patience: Duration = .seconds(30), logger: Logger) async -> Bool {
        if checkpoint {
            do {
                try await writer.run { try $0.execute("CHECKPOINT") }
            } catch {
                logger.warning("the checkpoint before closing failed; the next open replays the WAL",
                               metadata: ["duckling.error": .string(String(describing: error))])
            }
        }
        await readers.closeAll()
        await syncWriters.closeAll()
        await writer.close()
        // duckdb_close may tear the instance down (and checkpoint) right here: not on the cooperative pool.
        await BlockingIO.runLogged(logger) { [database] in database.close() }
        let released = await database.waitUntilReleased(within: patience)
        if !released {
            logger.error("the database instance did not close: a connection or statement is still open", metadata: [
                "duckling.open_connections": .stringConvertible(database.openConnectionCount),
                "duckling.open_statements": .stringConvertible(database.openStatementCount),
            ])
        }
        return released
    }
}
