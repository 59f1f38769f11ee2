import DuckDBKit
import Foundation

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

    /// Opens the file read-write (creating it and `_duckling`), or read-only for tools that must
    /// not change it; a read-only open needs the file to exist.
    init(settings: DatabaseSettings, engine: EngineSettings, readers: Int, readOnly: Bool = false) throws {
        let label = "duckling.\(settings.id)"
        if readOnly {
            guard FileManager.default.fileExists(atPath: settings.path) else {
                throw DuckDBError(code: .openFailed, message: "no database file at \(settings.path)")
            }
        } else {
            let directory = (settings.path as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        if let temp = engine.tempDirectory {
            try FileManager.default.createDirectory(atPath: temp, withIntermediateDirectories: true)
        }
        let database = try Database(path: settings.path, configuration: DatabaseConfiguration(
            memoryLimit: engine.memoryLimit ?? Self.memoryLimit(percentage: engine.maxMemoryPercentage),
            threads: engine.threads,
            tempDirectory: engine.tempDirectory,
            accessMode: readOnly ? .readOnly : .automatic,
            allowsExternalAccess: false,
            // Nothing here stores secrets; without this, merely listing them touches ~/.duckdb.
            additionalSettings: ["allow_persistent_secrets": "false"]))
        let setup = try database.connect()
        if !readOnly {
            try setup.execute("CREATE SCHEMA IF NOT EXISTS _duckling")
            try Self.dropStagingTables(on: setup)
        }
        // Sync runs write what they read from a source instance through `chunk_stream(token)`.
        try setup.registerChunkStreamFunction()
        try setup.execute("SET lock_configuration = true")
        self.database = database
        self.readers = try ConnectionPool(database: database, size: readers, label: label + ".read")
        self.writer = try SerializedConnection(database: database, label: label + ".write")
        self.loaderCount = engine.threads ?? ProcessInfo.processInfo.activeProcessorCount
        self.syncWriters = try ConnectionPool(database: database, size: max(1, engine.syncWorkers), label: label + ".sync")
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

    /// `percentage` of physical memory, in DuckDB's notation.
    static func memoryLimit(percentage: Int) -> String {
        let megabytes = ProcessInfo.processInfo.physicalMemory / 1_048_576 * UInt64(percentage) / 100
        return "\(max(megabytes, 256))MB"
    }
}
