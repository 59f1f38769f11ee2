import DuckDBKit
import Foundation
import Logging
import ObjectStorage

/// The DuckDB instance that holds the lake attached as `lake`: readers for caller SQL, writers for
/// appends, DDL and maintenance.
///
/// Setup (extensions, the S3 secret, the `ATTACH`) runs with external access on; then access is
/// limited to the lake's data path and Duckling's upload directory, external access is turned off
/// and the configuration locked. The read-only gate keeps caller SQL to the lake's tables: the
/// instance itself could still read the lake's files (DESIGN.md §9).
final class LakeInstance: Sendable {
    static let catalog = "lake"

    let database: Database
    let readers: ConnectionPool
    let writers: ConnectionPool
    let gate: ReadOnlyGate

    /// Opens the instance and attaches the lake. Blocks: call it off the cooperative pool.
    init(settings: LakeSettings, engine: EngineSettings, memoryLimit: String, readers: Int, redactor: SecretRedactor) throws {
        guard let extensions = engine.extensionDirectory ?? Database.installedExtensionDirectory else {
            throw LakeError(.unavailable, code: "lake_unavailable", message: "cannot find the DuckDB extension directory (install DuckDB with scripts/install-duckdb)")
        }
        let work = settings.workDirectory
        for directory in [work + "/uploads", work + "/tmp", work + "/secrets"] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        if case .directory(let path) = settings.dataPath {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        if case .file(let path) = settings.catalog {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        }
        let database = try Database(path: nil, configuration: DatabaseConfiguration(
            memoryLimit: memoryLimit,
            threads: engine.threads,
            tempDirectory: work + "/tmp",
            extensionDirectory: extensions,
            // Secrets are only ever temporary; the directory is Duckling's own and stays empty.
            additionalSettings: [
                "secret_directory": work + "/secrets",
                // An append keeps no row order of its own, and without it DuckDB streams a large
                // append through far less memory; the allocator hands freed memory back sooner,
                // and its background threads purge freed pages while an append runs.
                "preserve_insertion_order": "false",
                "allocator_flush_threshold": "32MB",
                "allocator_background_threads": "true",
            ]))
        do {
            let setup = try database.connect()
            defer { setup.close() }
            do {
                try Self.attach(settings, on: setup)
            } catch let error as DuckDBError {
                throw LakeError(.unavailable, code: "lake_unavailable", message: "cannot attach the lake: " + redactor.redact(error.message))
            }
            try setup.execute("SET lock_configuration = true")
            self.gate = try ReadOnlyGate(learningFrom: setup, deniedCatalogPrefixes: ["__ducklake_metadata"],
                                         extraTableFunctions: ReadOnlyGate.lakeTableFunctions, deniedTableFunctions: ReadOnlyGate.deniedOnLake)
            let useLake: (Connection) throws -> Void = { try $0.execute("USE \(Self.catalog)") }
            self.readers = try ConnectionPool(database: database, size: readers, label: "duckling.lake.read", prepare: useLake)
            self.writers = try ConnectionPool(database: database, size: 2, label: "duckling.lake.write", prepare: useLake)
        } catch {
            database.close()
            throw error
        }
        self.database = database
    }

    private static func attach(_ settings: LakeSettings, on connection: Connection) throws {
        try connection.execute("LOAD ducklake")
        var allowed = [settings.workDirectory + "/uploads/"]
        var catalog: String
        switch settings.catalog {
        case .file(let path):
            catalog = "ducklake:" + path
        case .postgres(let url):
            try connection.execute("LOAD postgres_scanner")
            catalog = "ducklake:postgres:" + url.value
        }
        let usesS3 = [settings.dataPath, settings.datasets].contains { if case .s3 = $0 { true } else { false } }
        if usesS3 {
            try connection.execute("LOAD httpfs")
            // httpfs buffers one part of each file it uploads, and a part is the largest file it
            // allows over 10,000 parts: 80 MB by default. 50 GB files (far above DuckLake's
            // 512 MB target) make it S3's smallest part, 5 MB, which keeps a large append's memory flat.
            try connection.execute("SET s3_uploader_max_filesize = '50GB'")
            if let s3 = settings.s3 { try connection.execute(Self.secretSQL(s3, locations: [settings.dataPath, settings.datasets])) }
        }
        allowed.append(settings.dataPath.url)
        var options = ["DATA_PATH " + SQL.literal(settings.dataPath.url)]
        if case .postgres = settings.catalog { options.append("METADATA_SCHEMA " + SQL.literal(settings.metadataSchema)) }
        if let limit = settings.dataInliningRowLimit { options.append("DATA_INLINING_ROW_LIMIT \(limit)") }
        catalog = SQL.literal(catalog)
        // Processes attaching a new PostgreSQL catalog at once race to create its schema and
        // tables; the loser sees "already exists" and attaches what the winner made.
        for attempt in 1... {
            do {
                try connection.execute("ATTACH \(catalog) AS \(Self.catalog) (\(options.joined(separator: ", ")))")
                break
            } catch let error as DuckDBError where attempt < 5 && (error.message.contains("already exists") || error.message.contains("duplicate key")) {
                Thread.sleep(forTimeInterval: 0.2 * Double(attempt))
            }
        }
        try connection.execute("CALL \(Self.catalog).set_option('parquet_row_group_size', \(settings.effectiveRowGroupSize))")
        try connection.execute("SET allowed_directories = [\(allowed.map(SQL.literal).joined(separator: ", "))]")
        try connection.execute("SET enable_external_access = false")
    }

    /// A temporary S3 secret scoped to the lake's S3 locations.
    private static func secretSQL(_ s3: S3Settings, locations: [LakeSettings.Location]) -> String {
        let endpoint = URL(string: s3.endpoint)
        let host = endpoint.map { url in (url.host ?? "") + (url.port.map { ":\($0)" } ?? "") } ?? s3.endpoint
        var parts = [
            "TYPE s3", "REGION " + SQL.literal(s3.region), "ENDPOINT " + SQL.literal(host),
            "URL_STYLE " + SQL.literal(s3.pathStyle ? "path" : "vhost"),
            "USE_SSL " + (endpoint?.scheme == "http" ? "false" : "true"),
        ]
        if let key = s3.accessKey, let secret = s3.secretKey {
            parts.append("KEY_ID " + SQL.literal(key.value))
            parts.append("SECRET " + SQL.literal(secret.value))
        }
        if let token = s3.sessionToken { parts.append("SESSION_TOKEN " + SQL.literal(token.value)) }
        let scopes = locations.compactMap { location -> String? in
            if case .s3 = location { return SQL.literal(location.url) }
            return nil
        }
        parts.append("SCOPE [\(scopes.joined(separator: ", "))]")
        return "CREATE TEMPORARY SECRET duckling_lake_s3 (\(parts.joined(separator: ", ")))"
    }

    /// Waits for running work, closes every connection and the instance.
    func close(logger: Logger) async {
        try? await readers.drain(patience: .seconds(10))
        try? await writers.drain(patience: .seconds(30))
        await readers.closeAll()
        await writers.closeAll()
        await BlockingIO.runLogged(logger) { [database] in database.close() }
        if await !database.waitUntilReleased(within: .seconds(30)) {
            logger.warning("the lake instance did not close: a connection is still open")
        }
    }
}
