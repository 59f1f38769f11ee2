import Foundation

/// DuckDB's parse tree of a statement as `json_serialize_sql` writes it, and what it calls: the
/// table functions, the other functions, and the tables and views it reads by name, at any depth
/// (subqueries, CTEs, lateral joins, lambdas, `DESCRIBE`/`SUMMARIZE` of a query).
struct ParseTree: Sendable {
    /// Lower-cased names of the table functions in the tree (`range`, `read_csv`, …).
    var tableFunctions: Set<String> = []
    /// Lower-cased names of scalar, aggregate and window functions and macros.
    var functions: Set<String> = []
    /// Table and view names as written (`FROM x`), lower-cased, each with its schema and catalog
    /// qualifiers: `FROM data.csv` is a file to DuckDB's replacement scans, not a table.
    var relations: Set<[String]> = []
    /// What `SHOW x` lists (`tables`, `databases`, `variables`, …): DuckDB binds each to a table
    /// function of its own, which the tree does not show.
    var shows: Set<String> = []

    /// The statements of `json` (one object per statement), or nil when DuckDB could not serialize
    /// the text, which it does only for `SELECT` statements.
    static func parse(_ json: String) throws -> [ParseTree]? {
        // json_serialize_sql writes `Infinity` and `NaN` for such constants, which JSON5 reads.
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true
        let document = try decoder.decode(Node.self, from: Data(json.utf8))
        guard case .object(let root) = document, root["error"] != .bool(true),
              case .array(let statements)? = root["statements"] else { return nil }
        return statements.map { statement in
            var tree = ParseTree()
            tree.collect(statement)
            return tree
        }
    }

    private mutating func collect(_ node: Node) {
        switch node {
        case .object(let fields):
            let type = fields["type"]?.text
            if type == "TABLE_FUNCTION", case .object(let function)? = fields["function"], let name = function["function_name"]?.text {
                tableFunctions.insert(name.lowercased())
            } else if let name = fields["function_name"]?.text {
                functions.insert(name.lowercased())
            }
            if type == "BASE_TABLE", let name = fields["table_name"]?.text {
                let qualifiers = [fields["catalog_name"]?.text, fields["schema_name"]?.text].compactMap { $0 }.filter { !$0.isEmpty }
                relations.insert((qualifiers + [name]).map { $0.lowercased() })
            }
            if type == "SHOW_REF", let name = fields["table_name"]?.text, !name.isEmpty {
                shows.insert(Self.unquoted(name).lowercased())
            }
            for value in fields.values { collect(value) }
        case .array(let items):
            for item in items { collect(item) }
        default:
            break
        }
    }

    /// `"tables"` → `tables` (a SHOW's target comes quoted).
    private static func unquoted(_ name: String) -> String {
        name.count >= 2 && name.hasPrefix("\"") && name.hasSuffix("\"") ? String(name.dropFirst().dropLast()) : name
    }

    /// A JSON value.
    enum Node: Decodable, Equatable, Sendable {
        case object([String: Node])
        case array([Node])
        case string(String)
        case number(Double)
        case bool(Bool)
        case null

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let value = try? container.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? container.decode(Double.self) {
                self = .number(value)
            } else if let value = try? container.decode(String.self) {
                self = .string(value)
            } else if let value = try? container.decode([Node].self) {
                self = .array(value)
            } else {
                self = .object(try container.decode([String: Node].self))
            }
        }

        var text: String? {
            if case .string(let text) = self { return text }
            return nil
        }
    }
}
