import DuckDBKit

/// The SQL that reads one sub-table from the source instance, with its filters: the incremental
/// window, a partition's range, the row cap.
struct SourceRead: Sendable {
    /// What is read: a whole table of the attached catalog, or a query run at the source.
    enum Origin: Sendable {
        case table(schema: String, table: String)
        case query(String)
    }

    struct Window: Sendable {
        let column: String
        let watermark: Watermark
        let lookbackSeconds: Int
    }

    struct Partition: Sendable {
        let column: String
        let lower: Int64
        /// Inclusive for the last partition, exclusive otherwise.
        let upper: Int64
        let isLast: Bool
    }

    let origin: Origin
    let source: SourceSettings
    let catalog: String
    var window: Window?
    var partition: Partition?
    /// Rows after the watermark, ordered by the incremental column so a capped run can continue.
    var limit: Int?
    var orderColumn: String?
    /// The select list (all columns unless only keys or bounds are wanted).
    var selecting = "*"

    /// The statement to prepare and the values for its parameters.
    func statement() -> (sql: String, bindings: [DuckDBValue]) {
        let columns = selecting
        switch (origin, source.kind) {
        case (.query(let text), .postgres):
            // The query runs in PostgreSQL, so its filters are PostgreSQL SQL with literals.
            var conditions: [String] = []
            if let window {
                conditions.append("\(SQL.quoted(window.column)) \(window.lookbackSeconds > 0 ? ">=" : ">") \(window.watermark.postgresLiteral(lookbackSeconds: window.lookbackSeconds))")
            }
            if let partition { conditions.append(partitionCondition(partition, lower: String(partition.lower), upper: String(partition.upper))) }
            let inner = "SELECT \(columns) FROM (\n\(SQLText.withoutTrailingSemicolons(text))\n) AS _duckling_source" + clauses(conditions)
            return ("SELECT * FROM postgres_query(\(SQL.literal(catalog)), \(SQL.literal(inner)))", [])
        default:
            // DuckDB SQL in the source instance, with bound parameters.
            let from: String = switch origin {
            case .table(let schema, let table): "\(SQL.quoted(catalog)).\(SQL.quoted(schema)).\(SQL.quoted(table))"
            case .query(let text): "(\n\(SQLText.withoutTrailingSemicolons(text))\n) AS _duckling_source"
            }
            var conditions: [String] = []
            var bindings: [DuckDBValue] = []
            if let window {
                bindings.append(.varchar(window.watermark.value))
                conditions.append("\(SQL.quoted(window.column)) \(window.lookbackSeconds > 0 ? ">=" : ">") \(window.watermark.duckdbExpression(parameter: bindings.count, lookbackSeconds: window.lookbackSeconds))")
            }
            if let partition {
                bindings += [.bigint(partition.lower), .bigint(partition.upper)]
                conditions.append(partitionCondition(partition, lower: "$\(bindings.count - 1)", upper: "$\(bindings.count)"))
            }
            return ("SELECT \(columns) FROM \(from)" + clauses(conditions), bindings)
        }
    }

    private func partitionCondition(_ partition: Partition, lower: String, upper: String) -> String {
        let column = SQL.quoted(partition.column)
        return "\(column) >= \(lower) AND \(column) \(partition.isLast ? "<=" : "<") \(upper)"
    }

    private func clauses(_ conditions: [String]) -> String {
        var text = conditions.isEmpty ? "" : "\nWHERE " + conditions.joined(separator: " AND ")
        if let orderColumn { text += "\nORDER BY \(SQL.quoted(orderColumn))" }
        if let limit { text += "\nLIMIT \(limit)" }
        return text
    }
}
