import Synchronization

extension LogicalType {
    /// The type as DuckDB writes it (`DESCRIBE`, `typeof`): `INTEGER`, `DECIMAL(18,6)`, `VARCHAR[]`,
    /// `STRUCT(a INTEGER, "name" VARCHAR)`, `MAP(VARCHAR, INTEGER)`, … Valid in DDL.
    public var sqlName: String {
        switch self {
        case .boolean: "BOOLEAN"
        case .tinyint: "TINYINT"
        case .smallint: "SMALLINT"
        case .integer: "INTEGER"
        case .bigint: "BIGINT"
        case .hugeint: "HUGEINT"
        case .utinyint: "UTINYINT"
        case .usmallint: "USMALLINT"
        case .uinteger: "UINTEGER"
        case .ubigint: "UBIGINT"
        case .uhugeint: "UHUGEINT"
        case .float: "FLOAT"
        case .double: "DOUBLE"
        case .decimal(let width, let scale): "DECIMAL(\(width),\(scale))"
        case .varchar: "VARCHAR"
        case .blob: "BLOB"
        case .bit: "BIT"
        case .bignum: "BIGNUM"
        case .uuid: "UUID"
        case .date: "DATE"
        case .time: "TIME"
        case .timeNS: "TIME_NS"
        case .timeTZ: "TIME WITH TIME ZONE"
        case .timestamp: "TIMESTAMP"
        case .timestampS: "TIMESTAMP_S"
        case .timestampMS: "TIMESTAMP_MS"
        case .timestampNS: "TIMESTAMP_NS"
        case .timestampTZ: "TIMESTAMP WITH TIME ZONE"
        case .interval: "INTERVAL"
        case .enumeration(let values):
            "ENUM(" + values.map { SQL.literal($0) }.joined(separator: ", ") + ")"
        case .list(let element): element.sqlName + "[]"
        case .array(let element, let size): element.sqlName + "[\(size)]"
        case .structure(let fields):
            "STRUCT(" + fields.map { SQL.optionallyQuoted($0.name) + " " + $0.type.sqlName }.joined(separator: ", ") + ")"
        case .map(let key, let value): "MAP(\(key.sqlName), \(value.sqlName))"
        case .union(let fields):
            "UNION(" + fields.map { SQL.optionallyQuoted($0.name) + " " + $0.type.sqlName }.joined(separator: ", ") + ")"
        case .geometry(let crs): crs.map { "GEOMETRY('\($0)')" } ?? "GEOMETRY"
        case .variant: "VARIANT"
        case .sqlNull: "\"NULL\""
        case .unknown(let id): "UNKNOWN(\(id))"
        }
    }
}

/// Quoting helpers: the one place identifiers and string literals are written into SQL.
public enum SQL {
    /// `name` as a double-quoted identifier, with embedded quotes doubled. Always safe.
    public static func quoted(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" 
    }

    /// `schema.name`, both quoted.
    public static func qualified(_ schema: String, _ name: String) -> String {
        quoted(schema) + "." + quoted(name)
    }

    /// `value` as a single-quoted string literal.
    public static func literal(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// `name` bare when DuckDB would write it bare (lower-case identifier, not a keyword), else quoted.
    public static func optionallyQuoted(_ name: String) -> String {
        let isPlain = !name.isEmpty && name.utf8.enumerated().allSatisfy { index, byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || byte == UInt8(ascii: "_")
                || (index > 0 && byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
        }
        return isPlain && !Keywords.contains(name) ? name : quoted(name)
    }
}

/// DuckDB's keyword list (`duckdb_keywords()`), loaded from the engine the first time a database
/// opens, so type names are quoted exactly as DuckDB quotes them.
enum Keywords {
    private static let words = Mutex<Set<String>>([])

    static func contains(_ word: String) -> Bool {
        words.withLock { $0.contains(word) }
    }

    static var isLoaded: Bool { words.withLock { !$0.isEmpty } }

    static func load(from connection: Connection) throws {
        let rows = try connection.query("SELECT keyword_name FROM duckdb_keywords()").rows()
        let loaded = Set(rows.compactMap { row -> String? in
            if case .varchar(let word) = row.first { return word }
            return nil
        })
        words.withLock { $0 = loaded }
    }
}
