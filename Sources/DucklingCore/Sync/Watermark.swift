public import DuckDBKit

/// The highest `incremental_column` value a sub-table has copied, with its DuckDB type, so it can be
/// compared at the source in the right type.
public struct Watermark: Sendable, Equatable, Codable {
    /// The value as DuckDB writes it (`2024-01-01 10:00:00+00`, `42`).
    public let value: String
    /// Its DuckDB type (`TIMESTAMP WITH TIME ZONE`, `BIGINT`).
    public let type: String

    public init(value: String, type: String) {
        self.value = value
        self.type = type
    }

    /// Takes the maximum read from a copied table; nil for NULL (no rows).
    init?(_ value: DuckDBValue, type: LogicalType) {
        guard let text = value.text else { return nil }
        self.init(value: text, type: type.sqlName)
    }

    var isTemporal: Bool {
        ["DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"].contains(type)
    }

    /// The PostgreSQL expression for this value less `lookbackSeconds` (for SQL run at the source).
    func postgresLiteral(lookbackSeconds: Int) -> String {
        let pgType: String? = switch type {
        case "TIMESTAMP WITH TIME ZONE": "timestamptz"
        case "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS": "timestamp"
        case "DATE": "date"
        case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT": "numeric"
        case "FLOAT", "DOUBLE": "double precision"
        case "UUID": "uuid"
        default: type.hasPrefix("DECIMAL") ? "numeric" : nil
        }
        let literal = SQL.literal(value) + (pgType.map { "::\($0)" } ?? "")
        guard lookbackSeconds > 0 else { return literal }
        return isTemporal ? "(\(literal) - interval '\(lookbackSeconds) seconds')" : "(\(literal) - \(lookbackSeconds))"
    }

    /// The DuckDB expression for this value less `lookbackSeconds`, reading the text from parameter `$index`.
    func duckdbExpression(parameter index: Int, lookbackSeconds: Int) -> String {
        let cast = "CAST($\(index) AS \(type))"
        guard lookbackSeconds > 0 else { return cast }
        return isTemporal ? "(\(cast) - INTERVAL (\(lookbackSeconds)) SECOND)" : "(\(cast) - \(lookbackSeconds))"
    }
}
