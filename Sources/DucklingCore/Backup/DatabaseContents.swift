import DuckDBKit

/// What a backup promises to hold: every table's row count and the sync watermarks.
struct DatabaseContents: Sendable, Equatable {
    var tables: [BackupManifest.TableCount]
    var watermarks: [BackupManifest.WatermarkEntry]

    static func read(on connection: Connection) throws -> DatabaseContents {
        let names = try connection.query("""
            SELECT schema_name, table_name FROM duckdb_tables()
            WHERE database_name = current_database() AND NOT temporary ORDER BY schema_name, table_name
            """).rows()
        var tables: [BackupManifest.TableCount] = []
        var hasWatermarks = false
        for row in names {
            guard let schema = row[0].text, let table = row[1].text else { continue }
            let count = try connection.query("SELECT count(*) FROM \(SQL.qualified(schema, table))").rows()
            guard case .bigint(let rows)? = count.first?.first else {
                throw BackupError(.verification, "could not count the rows of \(schema).\(table)")
            }
            tables.append(.init(schema: schema, table: table, rows: rows))
            if schema == "_duckling" && table == "sync_watermarks" { hasWatermarks = true }
        }
        var watermarks: [BackupManifest.WatermarkEntry] = []
        if hasWatermarks {
            for row in try connection.query("SELECT dataset, sub_table, value FROM _duckling.sync_watermarks ORDER BY dataset, sub_table").rows() {
                guard let dataset = row[0].text, let sub = row[1].text, let value = row[2].text else { continue }
                watermarks.append(.init(dataset: dataset, subTable: sub, value: value))
            }
        }
        return DatabaseContents(tables: tables, watermarks: watermarks)
    }

    /// Opens `file` read-only in a short-lived instance of its own (with `memoryLimit`, its share
    /// of the process's budget) and reads what it holds; the instance is closed before this returns.
    /// Blocks: call it off the cooperative pool.
    static func read(file path: String, memoryLimit: String) throws -> DatabaseContents {
        let database: Database
        do {
            database = try Database(path: path, configuration: DatabaseConfiguration(
                memoryLimit: memoryLimit, accessMode: .readOnly, allowsExternalAccess: false))
        } catch {
            throw BackupError(.verification, "the backup copy does not open as a DuckDB database: \(error)")
        }
        defer { database.close() }
        let connection = try database.connect()
        defer { connection.close() }
        return try read(on: connection)
    }

    /// Why `self` (what a copy holds) differs from what `manifest` promises, or nil when it matches.
    func mismatch(with manifest: BackupManifest) -> String? {
        if tables != manifest.tables {
            let expected = Dictionary(manifest.tables.map { ("\($0.schema).\($0.table)", $0.rows) }, uniquingKeysWith: { a, _ in a })
            let actual = Dictionary(tables.map { ("\($0.schema).\($0.table)", $0.rows) }, uniquingKeysWith: { a, _ in a })
            let differing = Set(expected.keys).union(actual.keys).sorted().filter { expected[$0] != actual[$0] }
            let detail = differing.prefix(5).map { "\($0): manifest \(expected[$0].map(String.init) ?? "none"), copy \(actual[$0].map(String.init) ?? "none")" }
            return "row counts differ from the manifest (\(detail.joined(separator: "; ")))"
        }
        if watermarks != manifest.watermarks {
            return "sync watermarks differ from the manifest"
        }
        return nil
    }
}
