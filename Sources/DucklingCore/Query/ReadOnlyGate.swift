import DuckDBKit

/// Decides whether caller SQL may run, using DuckDB's own parser and classification, and prepares it.
///
/// Layers, each sufficient on its own for what it covers:
/// 1. DuckDB's parser must find exactly one statement;
/// 2. it must start like a query (a clear refusal for `CREATE`, `ATTACH`, `SET`, … before anything is
///    bound), and DuckDB must classify it as `SELECT`;
/// 3. the instance itself has no external access and a locked configuration, so files, network,
///    extensions and settings are refused even inside a `SELECT`;
/// 4. the statement runs in a `READ ONLY` transaction, so side effects inside a `SELECT`
///    (`nextval`, say) fail too.
enum ReadOnlyGate {
    static let queryKeywords: Set<String> = [
        "SELECT", "WITH", "FROM", "VALUES", "TABLE", "DESCRIBE", "SHOW", "SUMMARIZE", "PIVOT", "UNPIVOT",
    ]

    static func prepare(_ sql: String, on connection: Connection) throws -> PreparedStatement {
        // DuckDB's parser first, so invalid SQL gets DuckDB's own message.
        let statements = try connection.extractStatements(sql)
        guard statements.count == 1 else {
            throw QueryError(.invalidRequest, code: "multiple_statements",
                             message: "send one statement per request (this text has \(statements.count))")
        }
        guard let keyword = SQLText.firstKeyword(sql), queryKeywords.contains(keyword) else {
            throw QueryError(.forbidden, code: "read_only",
                             message: "\(SQLText.firstKeyword(sql) ?? "this") statements are not allowed: the query API only runs read queries (SELECT)")
        }
        var statement = try statements.prepare(at: 0)
        guard statement.statementType == .select else {
            throw QueryError(.forbidden, code: "read_only",
                             message: "\(statement.statementType) statements are not allowed: the query API only runs read queries (SELECT)")
        }
        // VARIANT values cannot be read through the C API; DuckDB renders them as text itself.
        let variants = statement.columns.filter { $0.type.containsVariant }
        if !variants.isEmpty {
            let replacements = variants.map { "CAST(\(SQL.quoted($0.name)) AS VARCHAR) AS \(SQL.quoted($0.name))" }
            statement = try connection.prepare(
                "SELECT * REPLACE (\(replacements.joined(separator: ", "))) FROM (\n\(SQLText.withoutTrailingSemicolons(sql))\n) AS _duckling_query")
        }
        return statement
    }
}

extension LogicalType {
    var containsVariant: Bool {
        switch self {
        case .variant: true
        case .list(let element), .array(let element, _): element.containsVariant
        case .structure(let fields), .union(let fields): fields.contains { $0.type.containsVariant }
        case .map(let key, let value): key.containsVariant || value.containsVariant
        default: false
        }
    }
}
