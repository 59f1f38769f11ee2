import DuckDBKit
import Foundation

extension Lake {
    /// `lake.main."name"`, after checking the name.
    static func tableSQL(_ name: String) throws -> String {
        try LakeNames.checkName(name, what: "table")
        return "\(LakeInstance.catalog).main.\(SQL.quoted(name))"
    }

    /// Creates a table (one snapshot, with its partitioning). A name that exists is a conflict.
    public func createTable(_ definition: TableDefinition, author: String) async throws -> TableSummary {
        let table = try Self.tableSQL(definition.name)
        guard !definition.columns.isEmpty else { throw LakeError.invalid("invalid_columns", "a table needs at least one column") }
        var seen: Set<String> = []
        for column in definition.columns {
            try LakeNames.checkName(column.name, what: "column")
            try LakeNames.checkType(column.type)
            guard seen.insert(column.name.lowercased()).inserted else {
                throw LakeError.invalid("invalid_columns", "the column '\(column.name)' is given twice")
            }
        }
        let names = Set(definition.columns.map(\.name))
        let partition = try (definition.partitionBy ?? []).map { try LakeNames.partitionKey($0, columns: names) }
        let columns = definition.columns.map { "\(SQL.quoted($0.name)) \($0.type)\($0.nullable ? "" : " NOT NULL")" }
        let name = definition.name
        let types = definition.columns.map(\.type)
        try await write { connection in
            try Self.checkTypes(types, on: connection)
            try connection.execute("BEGIN TRANSACTION")
            if try Self.exists(name, on: connection, ignoringCase: true) {
                throw LakeError(.conflict, code: "table_exists", message: "a lake table named '\(name)' exists already")
            }
            try connection.execute("CREATE TABLE \(table) (\(columns.joined(separator: ", ")))")
            if !partition.isEmpty { try connection.execute("ALTER TABLE \(table) SET PARTITIONED BY (\(partition.joined(separator: ", ")))") }
            try Self.commit(on: connection, author: author, message: "create table \(name)")
        }
        return try await describeAfterCommit(name, columns: definition.columns)
    }

    /// The table as described after a committed change; a failure to read it back does not undo
    /// the change, so it is answered from what was asked for.
    private func describeAfterCommit(_ name: String, columns: [LakeColumn]) async throws -> TableSummary {
        do {
            return try await describe(name)
        } catch {
            logger.warning("a committed table change could not be read back", metadata: ["duckling.error": .string(String(describing: error))])
            return TableSummary(name: name, columns: columns, rowCount: 0, snapshotID: 0, dataFiles: 0, dataBytes: 0, deleteFiles: 0)
        }
    }

    /// Checks each type with DuckDB itself: `CAST(NULL AS type)` must prepare to one column, so
    /// nothing but a type (no constraint, default or second column) reaches the DDL.
    static func checkTypes(_ types: [String], on connection: Connection) throws {
        for type in types {
            do {
                let statement = try connection.prepare("SELECT CAST(NULL AS \(type))")
                guard statement.columns.count == 1 else { throw LakeError.invalid("invalid_type", "'\(type.prefix(80))' is not one type") }
            } catch let error as DuckDBError {
                throw LakeError.invalid("invalid_type", "'\(type.prefix(80))' is not a type DuckDB knows: \(error.message.split(separator: "\n").first ?? "")")
            }
        }
    }

    /// Every table with its columns, rows, the current snapshot, and its files.
    public func tables() async throws -> [TableSummary] {
        try await read { connection in
            let names = try connection.query("""
                SELECT table_name FROM duckdb_tables() WHERE database_name = 'lake' AND schema_name = 'main' ORDER BY table_name
                """).rows().compactMap { $0.first?.text }
            return try names.map { try Self.summary(of: $0, on: connection) }
        }
    }

    /// One table's schema, rows and files; 404 when there is none.
    public func describe(_ name: String) async throws -> TableSummary {
        _ = try Self.tableSQL(name)
        return try await read { connection in
            guard try Self.exists(name, on: connection) else { throw LakeError.tableNotFound(name) }
            return try Self.summary(of: name, on: connection)
        }
    }

    /// Drops a table (one snapshot; its files go when maintenance expires the snapshots that need them).
    public func dropTable(_ name: String, author: String) async throws -> Int64 {
        let table = try Self.tableSQL(name)
        return try await write { connection in
            try connection.execute("BEGIN TRANSACTION")
            guard try Self.exists(name, on: connection) else { throw LakeError.tableNotFound(name) }
            try connection.execute("DROP TABLE \(table)")
            return try Self.commit(on: connection, author: author, message: "drop table \(name)")
        }
    }

    /// Applies schema changes in one snapshot; DuckLake records them in the catalog and rewrites no
    /// data file, so old snapshots keep reading with their own schema.
    public func alterTable(_ name: String, changes: [SchemaChange], author: String) async throws -> TableSummary {
        let table = try Self.tableSQL(name)
        guard !changes.isEmpty else { throw LakeError.invalid("invalid_changes", "give at least one change") }
        var statements: [String] = []
        for change in changes {
            switch change {
            case .addColumn(let column):
                try LakeNames.checkName(column.name, what: "column")
                try LakeNames.checkType(column.type)
                statements.append("ALTER TABLE \(table) ADD COLUMN \(SQL.quoted(column.name)) \(column.type)")
                if !column.nullable {
                    throw LakeError.invalid("invalid_changes", "a column added to a table with rows must be nullable")
                }
            case .renameColumn(let from, let to):
                try LakeNames.checkName(from, what: "column")
                try LakeNames.checkName(to, what: "column")
                statements.append("ALTER TABLE \(table) RENAME COLUMN \(SQL.quoted(from)) TO \(SQL.quoted(to))")
            case .dropColumn(let column):
                try LakeNames.checkName(column, what: "column")
                statements.append("ALTER TABLE \(table) DROP COLUMN \(SQL.quoted(column))")
            case .setType(let column, let type):
                try LakeNames.checkName(column, what: "column")
                try LakeNames.checkType(type)
                statements.append("ALTER TABLE \(table) ALTER COLUMN \(SQL.quoted(column)) SET DATA TYPE \(type)")
            }
        }
        let all = statements
        let types = changes.compactMap { change -> String? in
            switch change {
            case .addColumn(let column): column.type
            case .setType(_, let type): type
            default: nil
            }
        }
        try await write { connection in
            try Self.checkTypes(types, on: connection)
            try connection.execute("BEGIN TRANSACTION")
            guard try Self.exists(name, on: connection) else { throw LakeError.tableNotFound(name) }
            for statement in all { try connection.execute(statement) }
            try Self.commit(on: connection, author: author, message: "alter table \(name)")
        }
        return try await describeAfterCommit(name, columns: [])
    }

    /// The snapshots that changed `name`, oldest first.
    public func snapshots(of name: String) async throws -> [SnapshotInfo] {
        _ = try Self.tableSQL(name)
        return try await read { connection in
            guard let tableID = try Self.tableID(name, on: connection) else { throw LakeError.tableNotFound(name) }
            let rows = try connection.query("""
                SELECT snapshot_id, strftime(snapshot_time AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ'),
                       to_json(changes)::VARCHAR, author, commit_message
                FROM ducklake_snapshots('lake') ORDER BY snapshot_id
                """).rows()
            let references: Set<String> = [String(tableID), "main.\(name)", "main.\(SQL.optionallyQuoted(name))", name]
            return rows.compactMap { row -> SnapshotInfo? in
                guard case .bigint(let id) = row[0], let time = row[1].text else { return nil }
                let changes = (row[2].text.flatMap { try? JSONDecoder().decode([String: [String]].self, from: Data($0.utf8)) }) ?? [:]
                guard changes.values.contains(where: { !references.isDisjoint(with: $0) }) else { return nil }
                return SnapshotInfo(id: id, time: time, changes: changes, author: row[3].text, commitMessage: row[4].text)
            }
        }
    }

    // MARK: - Helpers on a connection

    /// Whether the table exists, by its exact name (or, for a create, in any case: DuckDB's names
    /// are case-insensitive, so `Orders` and `orders` cannot both exist).
    static func exists(_ name: String, on connection: Connection, ignoringCase: Bool = false) throws -> Bool {
        guard ignoringCase else { return try tableID(name, on: connection) != nil }
        let rows = try connection.query("""
            SELECT count(*) FROM duckdb_tables() WHERE database_name = 'lake' AND schema_name = 'main' AND lower(table_name) = lower($1)
            """, [.varchar(name)]).rows()
        return (rows.first?.first?.int64 ?? 0) > 0
    }

    /// DuckLake's id of the table, which its snapshots' change lists name.
    static func tableID(_ name: String, on connection: Connection) throws -> Int64? {
        let rows = try connection.query("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'lake' AND schema_name = 'main' AND table_name = $1", [.varchar(name)]).rows()
        guard case .bigint(let count)? = rows.first?.first, count > 0 else { return nil }
        let info = try connection.query("SELECT table_id FROM ducklake_table_info('lake') WHERE table_name = $1", [.varchar(name)]).rows()
        return info.first?.first?.int64 ?? -1
    }

    static func summary(of name: String, on connection: Connection) throws -> TableSummary {
        let columns = try connection.query("""
            SELECT column_name, data_type, is_nullable FROM duckdb_columns()
            WHERE database_name = 'lake' AND schema_name = 'main' AND table_name = $1 ORDER BY column_index
            """, [.varchar(name)]).rows().compactMap { row -> LakeColumn? in
            guard let column = row[0].text, let type = row[1].text else { return nil }
            return LakeColumn(name: column, type: type, nullable: row[2] != .boolean(false))
        }
        let count = try connection.query("SELECT count(*) FROM \(try tableSQL(name))").scalar()
        let files = try connection.query("""
            SELECT file_count, file_size_bytes, delete_file_count FROM ducklake_table_info('lake') WHERE table_name = $1
            """, [.varchar(name)]).rows().first
        return TableSummary(name: name, columns: columns, rowCount: count?.int64 ?? 0, snapshotID: try currentSnapshot(on: connection),
                            dataFiles: files?[0].int64 ?? 0, dataBytes: files?[1].int64 ?? 0, deleteFiles: files?[2].int64 ?? 0)
    }

    static func currentSnapshot(on connection: Connection) throws -> Int64 {
        try connection.query("SELECT id FROM ducklake_current_snapshot('lake')").scalar()?.int64 ?? 0
    }

    /// Sets the commit's author and message and commits; returns the snapshot it made.
    @discardableResult
    static func commit(on connection: Connection, author: String, message: String) throws -> Int64 {
        let statement = try connection.prepare("CALL ducklake_set_commit_message('lake', $1, $2)")
        try statement.bind([.varchar(author), .varchar(message)])
        _ = try statement.execute(streaming: false)
        try connection.execute("COMMIT")
        // Committed: a failure to read the snapshot back must not report the write as failed.
        return (try? connection.query("SELECT id FROM ducklake_last_committed_snapshot('lake')").scalar()?.int64)
            ?? (try? currentSnapshot(on: connection)) ?? 0
    }
}

extension DuckDBValue {
    /// The value as a 64-bit integer, for DuckDB's integer types.
    var int64: Int64? {
        switch self {
        case .bigint(let value): value
        case .integer(let value): Int64(value)
        case .smallint(let value): Int64(value)
        case .tinyint(let value): Int64(value)
        case .ubigint(let value): Int64(exactly: value)
        case .uinteger(let value): Int64(value)
        case .hugeint(let value): Int64(exactly: value)
        default: nil
        }
    }
}
