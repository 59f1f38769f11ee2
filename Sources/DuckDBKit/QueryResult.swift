internal import CDuckDB

/// The result of one statement, read chunk by chunk.
public final class QueryResult {
    private var result: duckdb_result
    private let connection: Connection
    /// The statement's SQL, for errors.
    let sql: String
    /// The result columns.
    public let columns: [Column]
    /// Set once the last chunk was read: DuckDB reports an error for a fetch after the end.
    private var exhausted = false

    init(result: duckdb_result, connection: Connection, sql: String) {
        self.result = result
        self.connection = connection
        self.sql = sql
        connection.database.statementOpened()
        var columns: [Column] = []
        var result = result
        let count = Int(duckdb_column_count(&result))
        columns.reserveCapacity(count)
        for index in 0..<count {
            let name = duckdb_column_name(&result, idx_t(index)).map { String(cString: $0) } ?? ""
            var type = duckdb_column_logical_type(&result, idx_t(index))
            columns.append(Column(name: name, type: type.map(LogicalType.init(handle:)) ?? .sqlNull))
            duckdb_destroy_logical_type(&type)
        }
        self.columns = columns
    }

    deinit {
        duckdb_destroy_result(&result)
        connection.database.statementClosed()
    }

    /// Rows changed by an INSERT, UPDATE or DELETE.
    public var rowsChanged: Int { Int(duckdb_rows_changed(&result)) }

    /// The next chunk (up to 2048 rows), or nil when the result is exhausted (and on every call after).
    public func nextChunk() throws -> DataChunk? {
        if exhausted { return nil }
        try connection.checkCancellation()
        guard let chunk = duckdb_fetch_chunk(result) else {
            exhausted = true
            if let message = duckdb_result_error(&result) {
                throw DuckDBError.fromEngine(
                    code: .fetchFailed, type: duckdb_result_error_type(&result),
                    message: String(cString: message), sql: sql)
            }
            return nil
        }
        let data = DataChunk(handle: chunk, columns: columns)
        if data.count == 0 { exhausted = true }
        return data.count == 0 ? nil : data
    }

    /// An encoder of this result's chunks as an Arrow IPC stream, with the result's Arrow settings.
    public func arrowStreamEncoder() throws -> ArrowStreamEncoder {
        try ArrowStreamEncoder(columns: columns, options: duckdb_result_get_arrow_options(&result))
    }

    /// Reads every remaining row as values. For tests and small internal queries.
    public func rows() throws -> [[DuckDBValue]] {
        var rows: [[DuckDBValue]] = []
        while let chunk = try nextChunk() {
            let vectors = (0..<chunk.columnCount).map { chunk.column($0) }
            for row in 0..<chunk.count {
                rows.append(try vectors.map { try $0.value(at: row) })
            }
        }
        return rows
    }

    /// The first column of the first row, or nil for no rows.
    public func scalar() throws -> DuckDBValue? {
        try nextChunk().flatMap { try $0.count > 0 ? $0.column(0).value(at: 0) : nil }
    }
}

@available(*, unavailable)
extension QueryResult: Sendable {}
