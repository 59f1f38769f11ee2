internal import CDuckDB

/// The statements of a SQL text as DuckDB's parser splits them. Preparing is a separate step so a
/// caller can refuse a multi-statement text before any statement is bound.
public final class ExtractedStatements {
    private var handle: duckdb_extracted_statements?
    private let connection: Connection
    private let sql: String
    /// How many statements the text contains.
    public let count: Int

    init(connection: Connection, sql: String) throws {
        var extracted: duckdb_extracted_statements?
        let count = duckdb_extract_statements(try connection.handle, sql, &extracted)
        if count == 0 {
            let message = extracted.flatMap { duckdb_extract_statements_error($0) }.map { String(cString: $0) }
            duckdb_destroy_extracted(&extracted)
            guard let message else {
                throw DuckDBError(code: .prepareFailed, kind: .parser, message: "Parser Error: no statement to execute", sql: sql)
            }
            throw DuckDBError(code: .prepareFailed, reportedAs: message, sql: sql)
        }
        self.handle = extracted
        self.connection = connection
        self.sql = sql
        self.count = Int(count)
    }

    deinit {
        duckdb_destroy_extracted(&handle)
    }

    /// Prepares statement `index` (0-based).
    public func prepare(at index: Int) throws -> PreparedStatement {
        precondition(index >= 0 && index < count, "statement index out of range")
        var statement: duckdb_prepared_statement?
        let state = duckdb_prepare_extracted_statement(try connection.handle, handle, idx_t(index), &statement)
        return try PreparedStatement(connection: connection, handle: statement, state: state, sql: sql)
    }
}

@available(*, unavailable)
extension ExtractedStatements: Sendable {}

extension DuckDBError.Kind {
    /// DuckDB formats messages as "<Type> Error: …"; prepare and pending errors come only as text.
    init(message: String) {
        let table: [(String, DuckDBError.Kind)] = [
            ("Parser Error", .parser), ("Syntax Error", .syntax), ("Binder Error", .binder),
            ("Catalog Error", .catalog), ("Permission Error", .permission), ("Conversion Error", .conversion),
            ("Out of Range Error", .outOfRange), ("Invalid Input Error", .invalidInput),
            ("Constraint Error", .constraint), ("IO Error", .io), ("INTERRUPT Error", .interrupt),
            ("Out of Memory Error", .outOfMemory), ("TransactionContext Error", .transaction),
            ("Transaction Error", .transaction), ("Missing Extension Error", .missingExtension),
            ("Network Error", .network), ("HTTP Error", .http), ("FATAL Error", .fatal),
            ("INTERNAL Error", .internal),
        ]
        self = table.first { message.hasPrefix($0.0) }?.1 ?? .unknown
    }
}
