internal import CDuckDB

/// Bulk insertion into one table: rows of values, or whole data chunks (the fast path that moves
/// a result from one DuckDB instance into another without converting values).
public final class Appender {
    private var handle: duckdb_appender?
    private let connection: Connection
    private let target: String
    /// The table's column types, in order.
    public let columnTypes: [LogicalType]

    init(connection: Connection, schema: String, table: String) throws {
        var appender: duckdb_appender?
        let state = duckdb_appender_create_ext(try connection.handle, nil, schema, table, &appender)
        guard state == DuckDBSuccess, appender != nil else {
            let message = appender.flatMap { duckdb_appender_error($0) }.map { String(cString: $0) }
                ?? "Catalog Error: cannot append to \(schema).\(table)"
            duckdb_appender_destroy(&appender)
            throw DuckDBError(code: .appendFailed, reportedAs: message, sql: nil)
        }
        self.handle = appender
        self.connection = connection
        connection.database.statementOpened()
        self.target = "\(schema).\(table)"
        self.columnTypes = (0..<Int(duckdb_appender_column_count(appender))).map { index in
            var type = duckdb_appender_column_type(appender, idx_t(index))
            defer { duckdb_destroy_logical_type(&type) }
            return type.map(LogicalType.init(handle:)) ?? .sqlNull
        }
    }

    deinit {
        // Closing flushes; an explicit close() reports errors, this one cannot.
        duckdb_appender_destroy(&handle)
        connection.database.statementClosed()
    }

    /// Appends one row; values are converted to the column types.
    public func append(row values: [DuckDBValue]) throws {
        guard values.count == columnTypes.count else {
            throw DuckDBError(code: .appendFailed, kind: .invalidInput,
                              message: "Invalid Input Error: \(target) has \(columnTypes.count) columns, the row has \(values.count)")
        }
        for (value, type) in zip(values, columnTypes) {
            var cValue: duckdb_value? = try value.makeCValue(as: type)
            defer { duckdb_destroy_value(&cValue) }
            try check(duckdb_append_value(handle, cValue))
        }
        try check(duckdb_appender_end_row(handle))
    }

    /// Appends a whole chunk, which may come from another DuckDB instance; its column types must
    /// match the table's.
    public func append(_ chunk: DataChunk) throws {
        try connection.checkCancellation()
        try check(duckdb_append_data_chunk(handle, chunk.handle))
    }

    /// Writes buffered rows to the table.
    public func flush() throws {
        try check(duckdb_appender_flush(handle))
    }

    /// Flushes and closes; the appender cannot be used afterwards.
    public func close() throws {
        try check(duckdb_appender_close(handle))
    }

    private func check(_ state: duckdb_state) throws {
        guard state == DuckDBSuccess else {
            let message = duckdb_appender_error(handle).map { String(cString: $0) } ?? "append to \(target) failed"
            throw DuckDBError(code: .appendFailed, reportedAs: message, sql: nil)
        }
    }
}

@available(*, unavailable)
extension Appender: Sendable {}
