import DuckDBKit
import Foundation

/// The highest `incremental_column` value a sub-table has copied, with its DuckDB type, so it can be
/// compared at the source in the right type.
///
/// After a run that `max_sync_rows` cut short it is a compound boundary: the value and the primary
/// key of the last row read (in value-then-key order), so the next run continues strictly after
/// that row and rows sharing the value (one PostgreSQL transaction's `now()`, say) are never skipped.
public struct Watermark: Sendable, Equatable, Codable {
    /// The value as DuckDB writes it (`2024-01-01 10:00:00+00`, `42`).
    public let value: String
    /// Its DuckDB type (`TIMESTAMP WITH TIME ZONE`, `BIGINT`).
    public let type: String
    /// The primary key of the last row a capped run read, in key order; nil otherwise.
    public var key: [KeyPart]?

    /// One column of a compound boundary's key.
    public struct KeyPart: Sendable, Equatable, Codable {
        public let column: String
        public let value: String
        public let type: String
    }

    public init(value: String, type: String, key: [KeyPart]? = nil) {
        self.value = value
        self.type = type
        self.key = key
    }

    /// Takes the maximum read from a copied table; nil for NULL (no rows).
    init?(_ value: DuckDBValue, type: LogicalType) {
        guard let text = value.text else { return nil }
        self.init(value: text, type: type.sqlName)
    }

    var isTemporal: Bool {
        ["DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"].contains(type)
    }

    /// The key as JSON, as it is kept in `_duckling.sync_watermarks`.
    func keyJSON() throws -> String? {
        guard let key else { return nil }
        return String(decoding: try JSONEncoder().encode(key), as: UTF8.self)
    }

    static func key(fromJSON text: String?) throws -> [KeyPart]? {
        guard let text else { return nil }
        return try JSONDecoder().decode([KeyPart].self, from: Data(text.utf8))
    }

    /// The PostgreSQL expression for this value less `lookbackSeconds` (for SQL run at the source).
    func postgresLiteral(lookbackSeconds: Int) -> String {
        let literal = Self.postgresLiteral(value, type: type)
        guard lookbackSeconds > 0 else { return literal }
        return isTemporal ? "(\(literal) - interval '\(lookbackSeconds) seconds')" : "(\(literal) - \(lookbackSeconds))"
    }

    /// A PostgreSQL literal of `value` in the PostgreSQL type matching DuckDB's `type`.
    static func postgresLiteral(_ value: String, type: String) -> String {
        let pgType: String? = switch type {
        case "TIMESTAMP WITH TIME ZONE": "timestamptz"
        case "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS": "timestamp"
        case "DATE": "date"
        case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT": "numeric"
        // A REAL compared as double precision is not equal to itself (0.1 < 0.1::real::float8).
        case "FLOAT": "real"
        case "DOUBLE": "double precision"
        case "UUID": "uuid"
        case "VARCHAR": "text"
        default: type.hasPrefix("DECIMAL") ? "numeric" : nil
        }
        return SQL.literal(value) + (pgType.map { "::\($0)" } ?? "")
    }

    /// The DuckDB expression for this value less `lookbackSeconds`, reading the text from parameter `$index`.
    func duckdbExpression(parameter index: Int, lookbackSeconds: Int) -> String {
        let cast = "CAST($\(index) AS \(type))"
        guard lookbackSeconds > 0 else { return cast }
        return isTemporal ? "(\(cast) - INTERVAL (\(lookbackSeconds)) SECOND)" : "(\(cast) - \(lookbackSeconds))"
    }
}
