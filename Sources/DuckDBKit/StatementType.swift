internal import CDuckDB

/// DuckDB's classification of a prepared statement (`duckdb_statement_type`).
public struct StatementType: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int

    init(_ type: duckdb_statement_type) { self.rawValue = Int(type.rawValue) }
    private init(raw: duckdb_statement_type) { self.init(raw) }

    public static let invalid = StatementType(raw: DUCKDB_STATEMENT_TYPE_INVALID)
    public static let select = StatementType(raw: DUCKDB_STATEMENT_TYPE_SELECT)
    public static let insert = StatementType(raw: DUCKDB_STATEMENT_TYPE_INSERT)
    public static let update = StatementType(raw: DUCKDB_STATEMENT_TYPE_UPDATE)
    public static let explain = StatementType(raw: DUCKDB_STATEMENT_TYPE_EXPLAIN)
    public static let delete = StatementType(raw: DUCKDB_STATEMENT_TYPE_DELETE)
    public static let create = StatementType(raw: DUCKDB_STATEMENT_TYPE_CREATE)
    public static let alter = StatementType(raw: DUCKDB_STATEMENT_TYPE_ALTER)
    public static let transaction = StatementType(raw: DUCKDB_STATEMENT_TYPE_TRANSACTION)
    public static let copy = StatementType(raw: DUCKDB_STATEMENT_TYPE_COPY)
    public static let drop = StatementType(raw: DUCKDB_STATEMENT_TYPE_DROP)
    public static let export = StatementType(raw: DUCKDB_STATEMENT_TYPE_EXPORT)
    public static let pragma = StatementType(raw: DUCKDB_STATEMENT_TYPE_PRAGMA)
    public static let call = StatementType(raw: DUCKDB_STATEMENT_TYPE_CALL)
    public static let set = StatementType(raw: DUCKDB_STATEMENT_TYPE_SET)
    public static let load = StatementType(raw: DUCKDB_STATEMENT_TYPE_LOAD)
    public static let attach = StatementType(raw: DUCKDB_STATEMENT_TYPE_ATTACH)
    public static let detach = StatementType(raw: DUCKDB_STATEMENT_TYPE_DETACH)
    public static let variableSet = StatementType(raw: DUCKDB_STATEMENT_TYPE_VARIABLE_SET)
    public static let mergeInto = StatementType(raw: DUCKDB_STATEMENT_TYPE_MERGE_INTO)

    public var description: String {
        let names: [StatementType: String] = [
            .invalid: "INVALID", .select: "SELECT", .insert: "INSERT", .update: "UPDATE", .explain: "EXPLAIN",
            .delete: "DELETE", .create: "CREATE", .alter: "ALTER", .transaction: "TRANSACTION", .copy: "COPY",
            .drop: "DROP", .export: "EXPORT", .pragma: "PRAGMA", .call: "CALL", .set: "SET", .load: "LOAD",
            .attach: "ATTACH", .detach: "DETACH", .variableSet: "SET VARIABLE", .mergeInto: "MERGE",
        ]
        return names[self] ?? "STATEMENT(\(rawValue))"
    }
}
