import DuckDBKit
import Foundation

extension Lake {
    /// Maintenance of one table, or of every table: inlined rows are written out as Parquet, small
    /// adjacent files merged, snapshots older than ``LakeSettings/snapshotMaxAgeSeconds`` expired
    /// (DuckLake never expires the current one), and files no remaining snapshot needs deleted.
    public func maintain(_ name: String? = nil) async throws -> [MaintenanceReport] {
        if let name { _ = try Self.tableSQL(name) }
        let names: [String]
        if let name { names = [name] } else { names = try await tables().map(\.name) }
        let age = settings.snapshotMaxAgeSeconds
        var reports: [MaintenanceReport] = []
        for (index, table) in names.enumerated() {
            // Snapshots and files are the lake's, not one table's: expire and delete once, with the last table.
            let last = index == names.count - 1
            reports.append(try await write { connection in
                guard try Self.exists(table, on: connection) else { throw LakeError.tableNotFound(table) }
                let before = try Self.files(of: table, on: connection)
                let literal = SQL.literal(table)
                _ = try connection.query("CALL ducklake_flush_inlined_data('lake', table_name => \(literal))").rows()
                _ = try connection.query("CALL ducklake_merge_adjacent_files('lake', \(literal))").rows()
                var expired = 0
                var deleted = 0
                if last {
                    expired = try connection.query(
                        "CALL ducklake_expire_snapshots('lake', older_than => now() - to_seconds(\(age)))").rows().count
                    deleted = try connection.query("CALL ducklake_cleanup_old_files('lake', cleanup_all => true)").rows().count
                }
                let after = try Self.files(of: table, on: connection)
                return MaintenanceReport(table: table, before: before, after: after, snapshotsExpired: expired, filesDeleted: deleted)
            })
        }
        return reports
    }

    static func files(of name: String, on connection: Connection) throws -> MaintenanceReport.Files {
        let row = try connection.query("""
            SELECT file_count + delete_file_count, file_size_bytes + delete_file_size_bytes FROM ducklake_table_info('lake') WHERE table_name = $1
            """, [.varchar(name)]).rows().first
        return MaintenanceReport.Files(files: row?[0].int64 ?? 0, bytes: row?[1].int64 ?? 0)
    }
}

extension Lake {
    /// The data files the current snapshot of `name` reads (paths or URLs), sorted.
    public func dataFiles(of name: String) async throws -> [String] {
        _ = try Self.tableSQL(name)
        return try await read { connection in
            guard try Self.exists(name, on: connection) else { throw LakeError.tableNotFound(name) }
            return try connection.query("SELECT data_file FROM ducklake_list_files('lake', $1) ORDER BY 1", [.varchar(name)])
                .rows().compactMap { $0.first?.text }
        }
    }
}
