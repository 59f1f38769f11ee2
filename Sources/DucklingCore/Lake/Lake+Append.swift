import DuckDBKit
public import Foundation

extension Lake {
    /// Appends the rows of `file` (a JSON array, NDJSON, CSV with a header, or Parquet) to `name`
    /// in one transaction: one snapshot, all rows or none. Columns are matched by name; columns the
    /// file lacks are NULL. A row DuckDB cannot read fails the append with DuckDB's message, which
    /// names the line; the file's path never appears in it.
    /// `imported` is the dataset object the file came from (an import), nil for a request body.
    public func append(_ name: String, file: URL, format: AppendFormat, author: String, source: String = "the request body",
                       imported: LineageService.Dataset? = nil) async throws -> AppendResult {
        let table = try Self.tableSQL(name)
        let output = reporter.table(name, in: Self.databaseID)
        let appended = try await reporter.run(
            imported == nil ? .lakeAppend : .lakeImport, name: "\(Self.databaseID).\(imported == nil ? "append" : "import").\(name)",
            database: Self.databaseID, inputs: imported.map { [$0] } ?? [], outputs: [output],
            describe: { ($0 as? LakeError)?.message ?? String(describing: $0) },
            ending: { (appended: (result: AppendResult, columns: [(String, String)])) in
                var written = output
                written.schema = appended.columns.map { (name: $0.0, type: $0.1) }
                written.rowCount = Int(appended.result.rows)
                return .init(outputs: [written], rows: Int(appended.result.rows))
            }) {
            try await appendAlone(name, table: table, file: file, format: format, author: author, source: source)
        }
        return appended.result
    }

    private func appendAlone(_ name: String, table: String, file: URL, format: AppendFormat, author: String,
                             source: String) async throws -> (result: AppendResult, columns: [(String, String)]) {
        let path = file.path
        return try await write(replacing: [path: source]) { connection in
            try connection.execute("BEGIN TRANSACTION")
            guard try Self.exists(name, on: connection) else { throw LakeError.tableNotFound(name) }
            let allColumns = try Self.columnTypes(of: name, on: connection)
            var columns = allColumns
            if format == .csv {
                // Types only for the header's columns: DuckDB refuses types for columns a file lacks,
                // and a column the body lacks is NULL like in the other formats.
                let header = try Self.csvHeader(path, on: connection)
                columns = columns.filter { header.contains($0.0.lowercased()) }
            }
            let reader = Self.reader(of: path, format: format, columns: columns)
            let inserted = try connection.query("INSERT INTO \(table) BY NAME SELECT * FROM \(reader)").scalar()?.int64 ?? 0
            let snapshot = try Self.commit(on: connection, author: author, message: "append \(inserted) rows (\(format.rawValue))")
            return (AppendResult(table: name, rows: inserted, snapshotID: snapshot), allColumns)
        }
    }

    /// The table's columns and their types, in order.
    static func columnTypes(of name: String, on connection: Connection) throws -> [(String, String)] {
        try connection.query("""
            SELECT column_name, data_type FROM duckdb_columns()
            WHERE database_name = 'lake' AND schema_name = 'main' AND table_name = $1 ORDER BY column_index
            """, [.varchar(name)]).rows().compactMap { row in
            guard let column = row[0].text, let type = row[1].text else { return nil }
            return (column, type)
        }
    }

    /// The lower-cased column names of a CSV file's header, as DuckDB's sniffer reads them.
    static func csvHeader(_ path: String, on connection: Connection) throws -> Set<String> {
        let names = try connection.query("SELECT list_transform(Columns, c -> c.name) FROM sniff_csv(\(SQL.literal(path)), header = true)").scalar()
        guard case .list(let values)? = names else { return [] }
        return Set(values.compactMap { $0.text?.lowercased() })
    }

    /// The table function that reads `path` with the table's types.
    static func reader(of path: String, format: AppendFormat, columns: [(String, String)]) -> String {
        let types = "{" + columns.map { "\(SQL.literal($0.0)): \(SQL.literal($0.1))" }.joined(separator: ", ") + "}"
        let file = SQL.literal(path)
        switch format {
        case .csv:
            // Read buffers of 2 MiB, the longest line DuckDB reads (its default buffer is 16 lines
            // long), keep a large append's memory flat.
            return "read_csv(\(file), header = true, strict_mode = true, buffer_size = 2097152, types = \(types))"
        case .json:
            return "read_json(\(file), format = 'array', columns = \(types))"
        case .ndjson:
            return "read_json(\(file), format = 'newline_delimited', columns = \(types))"
        case .parquet:
            return "read_parquet(\(file))"
        }
    }
}

extension Lake {
    /// Deletes the rows matching `filter` (a SQL boolean expression) in one snapshot. The filter is
    /// first checked by the read-only gate as `SELECT * FROM t WHERE (filter)`, so it can call
    /// nothing caller SQL could not; returns the rows deleted and the snapshot.
    public func deleteRows(_ name: String, filter: String, author: String) async throws -> AppendResult {
        let select = try LakeQuery.select(table: name, columns: ["rowid"], filter: filter, orderBy: nil, limit: nil, version: .current)
        let table = try Self.tableSQL(name)
        let lease = try await leaseReader(queueLimit: nil, interrupter: nil)
        do {
            try await lease.connection.run { [gate = lease.gate] duckdb in _ = try gate.prepare(select, on: duckdb) }
            lease.release()
        } catch let error as QueryError {
            lease.release()
            throw LakeError(error.category == .forbidden ? .forbidden : .invalidRequest, code: error.code, message: error.message)
        } catch {
            lease.release()
            throw LakeError.from(error, redactor: redactor)
        }
        return try await write { connection in
            try connection.execute("BEGIN TRANSACTION")
            guard try Self.exists(name, on: connection) else { throw LakeError.tableNotFound(name) }
            // The exact statement the gate passed, as a subquery: the filter is parsed as it was checked.
            let deleted = try connection.query("DELETE FROM \(table) WHERE rowid IN (\(select))").scalar()?.int64 ?? 0
            let snapshot = try Self.commit(on: connection, author: author, message: "delete \(deleted) rows")
            return AppendResult(table: name, rows: deleted, snapshotID: snapshot)
        }
    }
}
