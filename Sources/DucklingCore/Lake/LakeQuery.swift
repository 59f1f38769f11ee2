import DuckDBKit
import Foundation

/// The SQL of the lake's table endpoints, built from checked parts and run through the same
/// read-only gate as caller SQL.
public enum LakeQuery {
    /// Which version of a table to read.
    public enum Version: Sendable, Equatable {
        case current
        case snapshot(Int64)
        /// An ISO 8601 time (`2026-12-01T18:00:00Z`).
        case asOf(String)
    }

    /// `?snapshot=N` or `?as_of=TIME` (not both).
    public static func version(snapshot: String?, asOf: String?) throws -> Version {
        switch (snapshot, asOf) {
        case (nil, nil): return .current
        case (let text?, nil):
            guard let id = Int64(text), id >= 0 else { throw LakeError.invalid("invalid_snapshot", "snapshot must be a snapshot id (a whole number), got '\(text.prefix(40))'") }
            return .snapshot(id)
        case (nil, let text?):
            guard parseTime(text) != nil else {
                throw LakeError.invalid("invalid_as_of", "as_of must be an ISO 8601 time such as 2026-12-01T18:00:00Z, got '\(text.prefix(40))'")
            }
            return .asOf(text)
        case (_?, _?): throw LakeError.invalid("invalid_version", "give snapshot or as_of, not both")
        }
    }

    /// An ISO 8601 time as microseconds since 1970, exactly (fractions to the microsecond, as
    /// the snapshot list writes them): `2026-12-01T18:00:00Z`, `…T18:00:00.123456+02:00`.
    static func parseTime(_ text: String) -> Int64? {
        let pattern = #"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$"#
        guard let match = text.range(of: pattern, options: .regularExpression), match == text.startIndex..<text.endIndex else { return nil }
        let base = String(text.prefix(19)).replacingOccurrences(of: " ", with: "T")
        var rest = text.dropFirst(19)
        var micros: Int64 = 0
        if rest.hasPrefix(".") {
            let digits = rest.dropFirst().prefix { $0.isNumber }
            rest = rest.dropFirst(1 + digits.count)
            micros = Int64(String((digits + "000000").prefix(6))) ?? 0
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        guard let date = formatter.date(from: base + rest) else { return nil }
        return Int64(date.timeIntervalSince1970.rounded()) * 1_000_000 + micros
    }

    /// `lake.main."t"` with its `AT (…)` clause.
    static func source(_ table: String, version: Version) throws -> String {
        let name = try Lake.tableSQL(table)
        switch version {
        case .current: return name
        case .snapshot(let id): return "\(name) AT (VERSION => \(id))"
        case .asOf(let text):
            guard let micros = parseTime(text) else { throw LakeError.invalid("invalid_as_of", "as_of must be an ISO 8601 time") }
            return "\(name) AT (TIMESTAMP => make_timestamptz(\(micros)))"
        }
    }

    /// The structured form of `POST /tables/{name}/query`: columns, a filter (a SQL boolean
    /// expression, checked by the gate with the whole statement), order and a limit.
    public static func select(table: String, columns: [String]?, filter: String?, orderBy: [String]?, limit: Int?, version: Version) throws -> String {
        let projection = try columns.map { names -> String in
            guard !names.isEmpty else { return "*" }
            return try names.map { name in
                try LakeNames.checkName(name, what: "column")
                return SQL.quoted(name)
            }.joined(separator: ", ")
        } ?? "*"
        var sql = "SELECT \(projection) FROM \(try source(table, version: version))"
        if let filter, !filter.trimmingCharacters(in: .whitespaces).isEmpty {
            guard !filter.contains(";") else { throw LakeError.invalid("invalid_filter", "the filter is one expression, without ;") }
            sql += " WHERE (\(filter))"
        }
        if let orderBy, !orderBy.isEmpty {
            let keys = try orderBy.map { key -> String in
                let parts = key.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                guard let name = parts.first, parts.count <= 2 else { throw LakeError.invalid("invalid_order", "order_by takes column names, each optionally followed by ASC or DESC") }
                try LakeNames.checkName(name, what: "column")
                let direction = parts.count == 2 ? parts[1].uppercased() : "ASC"
                guard direction == "ASC" || direction == "DESC" else { throw LakeError.invalid("invalid_order", "order_by directions are ASC or DESC") }
                return "\(SQL.quoted(name)) \(direction)"
            }
            sql += " ORDER BY " + keys.joined(separator: ", ")
        }
        if let limit {
            guard limit >= 0 else { throw LakeError.invalid("invalid_limit", "limit must not be negative") }
            sql += " LIMIT \(limit)"
        }
        return sql
    }

    /// DuckLake's change feed of `table` between two snapshots (inclusive): every inserted and
    /// deleted row, and updates as pre/post images, with the snapshot and row id.
    public static func changes(table: String, from: Int64, to: Int64) throws -> String {
        _ = try Lake.tableSQL(table)
        guard from >= 0, to >= from else { throw LakeError.invalid("invalid_range", "from and to are snapshot ids with from <= to") }
        return "SELECT * FROM ducklake_table_changes('lake', 'main', \(SQL.literal(table)), \(from), \(to)) ORDER BY snapshot_id, rowid, change_type"
    }
}
