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
        /// Continue strictly after the watermark's (value, key): the previous run was capped.
        var continuing: Bool { watermark.key != nil }
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
    /// At most this many rows, in ``orderColumns`` order, so a capped run can continue.
    var limit: Int?
    var orderColumns: [String] = []
    /// Text columns among those compared and ordered: at PostgreSQL they use the "C" collation,
    /// whose byte order is DuckDB's, so the source and the copy agree on what comes after what.
    var textColumns: Set<String> = []
    /// The select list (all columns unless only keys or bounds are wanted).
    var selecting = "*"

    /// The statement to prepare and the values for its parameters.
    func statement() -> (sql: String, bindings: [DuckDBValue]) {
        let columns = selecting
        switch (origin, source.kind) {
        case (.query(let text), .postgres):
            // The query runs in PostgreSQL, so its filters are PostgreSQL SQL with literals.
            var conditions: [String] = []
            if let window { conditions.append(postgresCondition(window)) }
            if let partition { conditions.append(partitionCondition(partition, lower: String(partition.lower), upper: String(partition.upper))) }
            let order = orderColumns.map(postgresColumn)
            let inner = "SELECT \(columns) FROM (\n\(SQLText.withoutTrailingSemicolons(text))\n) AS _duckling_source" + clauses(conditions, order: order)
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
                let column = SQL.quoted(window.column)
                bindings.append(.varchar(window.watermark.value))
                let value = window.watermark.duckdbExpression(parameter: bindings.count, lookbackSeconds: window.continuing ? 0 : window.lookbackSeconds)
                if let key = window.watermark.key, window.continuing {
                    var values = [value]
                    for part in key {
                        bindings.append(.varchar(part.value))
                        values.append("CAST($\(bindings.count) AS \(part.type))")
                    }
                    let row = ([column] + key.map { SQL.quoted($0.column) }).joined(separator: ", ")
                    // The plain bound first: DuckDB pushes it into the source's scan, the row comparison it cannot.
                    conditions.append("\(column) >= \(value)")
                    conditions.append("(\(row)) > (\(values.joined(separator: ", ")))")
                } else {
                    conditions.append("\(column) \(window.lookbackSeconds > 0 ? ">=" : ">") \(value)")
                }
            }
            if let partition {
                bindings += [.bigint(partition.lower), .bigint(partition.upper)]
                conditions.append(partitionCondition(partition, lower: "$\(bindings.count - 1)", upper: "$\(bindings.count)"))
            }
            return ("SELECT \(columns) FROM \(from)" + clauses(conditions, order: orderColumns.map(SQL.quoted)), bindings)
        }
    }

    /// `"name"`, or `"name" COLLATE "C"` for text.
    private func postgresColumn(_ name: String) -> String {
        textColumns.contains(name) ? "\(SQL.quoted(name)) COLLATE \"C\"" : SQL.quoted(name)
    }

    private func postgresCondition(_ window: Window) -> String {
        let column = postgresColumn(window.column)
        if let key = window.watermark.key, window.continuing {
            let row = ([column] + key.map { postgresColumn($0.column) }).joined(separator: ", ")
            let values = ([window.watermark.postgresLiteral(lookbackSeconds: 0)] + key.map { Watermark.postgresLiteral($0.value, type: $0.type) })
            return "\(column) >= \(values[0]) AND ROW(\(row)) > ROW(\(values.joined(separator: ", ")))"
        }
        return "\(column) \(window.lookbackSeconds > 0 ? ">=" : ">") \(window.watermark.postgresLiteral(lookbackSeconds: window.lookbackSeconds))"
    }

    /// A partition's range; the last one also takes the rows whose value is NULL, which no range holds.
    private func partitionCondition(_ partition: Partition, lower: String, upper: String) -> String {
        let column = SQL.quoted(partition.column)
        guard partition.isLast else { return "\(column) >= \(lower) AND \(column) < \(upper)" }
        return "((\(column) >= \(lower) AND \(column) <= \(upper)) OR \(column) IS NULL)"
    }

    private func clauses(_ conditions: [String], order: [String]) -> String {
        var text = conditions.isEmpty ? "" : "\nWHERE " + conditions.joined(separator: " AND ")
        if !order.isEmpty { text += "\nORDER BY " + order.joined(separator: ", ") }
        if let limit { text += "\nLIMIT \(limit)" }
        return text
    }
}
