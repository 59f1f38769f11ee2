import DuckDBKit

/// Decides whether caller SQL may run, from DuckDB's own parser, and prepares it (DESIGN.md §6).
///
/// DuckDB calls `SELECT * FROM enable_logging(…)`, `checkpoint()` or `query('…')` a `SELECT`, so
/// a statement type says little. The gate reads the statement's parse tree (`json_serialize_sql`)
/// and is deny-by-default:
/// 1. DuckDB's parser must find exactly one statement, and DuckDB must be able to serialize it,
///    which it does only for `SELECT` statements (queries, `VALUES`, `TABLE`, `DESCRIBE`, `SHOW`,
///    `SUMMARIZE`, `PIVOT … IN (…)`);
/// 2. every table function in the tree, at any depth, must be on ``allowedTableFunctions``; every
///    other function must not be on ``deniedFunctions``; no relation may name a file, nor one of
///    DuckDB's built-in views whose definition calls something refused (`duckdb_logs`, say);
/// 3. the prepared statement must be a `SELECT`;
/// 4. the instance has no external access and a locked configuration, so files, network,
///    extensions and settings are refused even if something got this far;
/// 5. the statement runs in a `READ ONLY` transaction, so writes inside it fail.
///
/// The policy and the reasons for it are in `docs/decisions.md`.
struct ReadOnlyGate: Sendable {
    /// Table functions caller SQL may use: generators, JSON iteration, catalog introspection and
    /// version information. Everything else (files, logging, profiling, checkpoints, settings,
    /// secrets, extensions, SQL in strings, Duckling's own `chunk_stream`) is refused, including
    /// table functions a future DuckDB adds, until someone decides about them.
    static let allowedTableFunctions: Set<String> = [
        "range", "generate_series", "unnest", "repeat", "repeat_row", "test_all_types", "test_vector_types",
        "json_each", "json_tree",
        "duckdb_columns", "duckdb_constraints", "duckdb_databases", "duckdb_dependencies", "duckdb_functions",
        "duckdb_indexes", "duckdb_keywords", "duckdb_optimizers", "duckdb_schemas", "duckdb_sequences", "duckdb_tables",
        "duckdb_types", "duckdb_views", "duckdb_memory", "duckdb_approx_database_count", "duckdb_connection_count",
        "duckdb_coordinate_systems", "duckdb_table_sample",
        "pragma_table_info", "pragma_show", "pragma_database_size", "pragma_storage_info", "pragma_metadata_info",
        "pragma_version", "pragma_platform", "pragma_collations", "pragma_user_agent",
        "icu_calendar_names", "pg_timezone_names",
    ]

    /// Introspection that is safe on a database but not on the lake: `duckdb_databases()` shows the
    /// catalog's connection string (a PostgreSQL password), and the others look a table up by a
    /// name in a string, which could name the metadata catalog.
    static let deniedOnLake: Set<String> = [
        "duckdb_databases", "duckdb_table_sample", "pragma_table_info", "pragma_storage_info", "pragma_metadata_info",
        "pragma_show", "pragma_database_size",
    ]

    /// DuckLake's read-only views of the lake, allowed on the lake's instance only: snapshots,
    /// the change feed and table statistics (never its file lists or maintenance calls).
    static let lakeTableFunctions: Set<String> = [
        "snapshots", "table_changes", "table_insertions", "table_deletions", "current_snapshot",
        "ducklake_snapshots", "ducklake_table_changes", "ducklake_table_insertions", "ducklake_table_deletions",
        "ducklake_table_info", "ducklake_current_snapshot",
    ]

    /// Functions refused although they are not table functions: they change session or engine
    /// state (`setseed`, `write_log`) or sequences (`nextval`, `currval`).
    static let deniedFunctions: Set<String> = ["setseed", "write_log", "nextval", "currval", "getvariable"]

    /// What `SHOW x` may list: DuckDB answers each from a table function of its own (`SHOW
    /// variables` from `duckdb_variables()`), so anything else is refused.
    static let allowedShows: Set<String> = ["tables", "databases", "__show_tables_expanded"]

    /// The last parts of names DuckDB reads as files (`FROM data.csv`, `FROM "/x/y".parquet`).
    static let fileExtensions: Set<String> = [
        "csv", "tsv", "txt", "json", "jsonl", "ndjson", "parquet", "db", "duckdb", "ddb", "sqlite", "sqlite3",
        "gz", "gzip", "zst", "zstd", "bz2", "xz", "lz4", "snappy", "xlsx", "arrow", "ipc", "feather", "avro", "orc",
    ]

    /// Built-in views (`duckdb_logs`, `pg_settings`, …) whose definitions call something refused,
    /// learned from the instance: reading them would call it.
    let deniedViews: Set<String>
    /// Catalogs caller SQL may not name, by prefix (the lake's metadata catalog, which may be a
    /// PostgreSQL database with much else in it).
    let deniedCatalogPrefixes: [String]
    /// The table functions this instance allows: ``allowedTableFunctions`` and any of its own.
    let tableFunctions: Set<String>

    /// Learns the refused built-in views from `connection`'s instance: a view is allowed when its
    /// definition passes the gate, views it reads included.
    init(learningFrom connection: Connection, deniedCatalogPrefixes: [String] = [], extraTableFunctions: Set<String> = [],
         deniedTableFunctions: Set<String> = []) throws {
        self.deniedCatalogPrefixes = deniedCatalogPrefixes
        self.tableFunctions = Self.allowedTableFunctions.union(extraTableFunctions).subtracting(deniedTableFunctions)
        let rows = try connection.query("SELECT view_name, sql FROM duckdb_views() WHERE internal").rows()
        var definitions: [String: String] = [:]
        for row in rows {
            guard let name = row[0].text?.lowercased(), let sql = row[1].text else { continue }
            definitions[name] = sql
        }
        var denied: Set<String> = []
        var allowed: Set<String> = []
        func isAllowed(_ view: String, visiting: Set<String>) throws -> Bool {
            if allowed.contains(view) { return true }
            if denied.contains(view) || visiting.contains(view) { return false }
            // A definition that cannot be read is refused like any statement that cannot be checked.
            guard let sql = definitions[view], let body = Self.viewBody(sql),
                  let trees = try? ParseTree.parse(try Self.serialize(body, on: connection)), trees.count == 1 else {
                denied.insert(view)
                return false
            }
            let tree = trees[0]
            var ok = Self.violation(in: tree, deniedViews: [], allowed: Self.allowedTableFunctions) == nil
            for relation in tree.relations.compactMap(\.last) where ok && definitions[relation] != nil && relation != view {
                ok = try isAllowed(relation, visiting: visiting.union([view]))
            }
            if ok { allowed.insert(view) } else { denied.insert(view) }
            return ok
        }
        for view in definitions.keys.sorted() { _ = try isAllowed(view, visiting: []) }
        self.deniedViews = denied
    }

    /// `CREATE … VIEW name AS <query>` → `<query>`.
    private static func viewBody(_ sql: String) -> Substring? {
        guard let range = sql.range(of: " AS ") else { return nil }
        return SQLText.withoutTrailingSemicolons(String(sql[range.upperBound...]))
    }

    private static func serialize(_ sql: some StringProtocol, on connection: Connection) throws -> String {
        let statement = try connection.cachedStatement("SELECT json_serialize_sql($1::VARCHAR, skip_null := true, skip_empty := true)")
        try statement.bind([.varchar(String(sql))])
        guard let json = try statement.execute(streaming: false).scalar()?.text else {
            throw QueryError(.invalidRequest, code: "invalid_sql", message: "DuckDB could not read the statement")
        }
        return json
    }

    /// Why `tree` is refused, or nil when it may run.
    private static func violation(in tree: ParseTree, deniedViews: Set<String>, allowed: Set<String>) -> QueryError? {
        if let function = tree.tableFunctions.sorted().first(where: { !allowed.contains($0) }) {
            return QueryError(.forbidden, code: "function_not_allowed",
                              message: "the table function \(function)() is not allowed in the query API: it reads files, changes engine state or is internal")
        }
        if let function = tree.functions.sorted().first(where: { deniedFunctions.contains($0) }) {
            return QueryError(.forbidden, code: "function_not_allowed", message: "the function \(function)() is not allowed in the query API: it changes state")
        }
        for relation in tree.relations.sorted(by: { $0.joined(separator: ".") < $1.joined(separator: ".") }) {
            // A file or URL in any part (`FROM '/x.csv'`, `FROM "/dir/*".csv`), or a file name split
            // into qualifiers by DuckDB's parser (`FROM data.csv`, `FROM a.csv.gz`).
            let pathLike = relation.contains { part in part.contains { "./\\:*?".contains($0) } }
            let fileLike = relation.count > 1 && relation.dropFirst().contains { fileExtensions.contains($0) }
            if pathLike || fileLike {
                return QueryError(.forbidden, code: "permission_denied",
                                  message: "'\(relation.joined(separator: "."))' names a file or URL: the query API reads tables only")
            }
            if let name = relation.last, deniedViews.contains(name) {
                return QueryError(.forbidden, code: "function_not_allowed",
                                  message: "the built-in view \(name) is not allowed in the query API: it reads engine state")
            }
        }
        if let show = tree.shows.sorted().first(where: { !allowedShows.contains($0) }) {
            return QueryError(.forbidden, code: "function_not_allowed",
                              message: "SHOW \(show) is not allowed in the query API: it reads engine state")
        }
        return nil
    }

    /// Checks `sql` and prepares it on `connection`, or throws a ``QueryError`` saying why not.
    func prepare(_ sql: String, on connection: Connection) throws -> PreparedStatement {
        // DuckDB's parser first, so invalid SQL gets DuckDB's own message.
        let statements = try connection.extractStatements(sql)
        guard statements.count == 1 else {
            throw QueryError(.invalidRequest, code: "multiple_statements",
                             message: "send one statement per request (this text has \(statements.count))")
        }
        let parsed: [ParseTree]?
        do {
            parsed = try ParseTree.parse(try Self.serialize(sql, on: connection))
        } catch is DecodingError {
            // What cannot be read cannot be checked: refused (DuckDB's tree of a very deep
            // expression is deeper than a JSON reader goes).
            throw QueryError(.invalidRequest, code: "statement_too_complex",
                             message: "the statement is nested too deeply to be checked; simplify it")
        }
        guard let trees = parsed, let tree = trees.first else {
            throw QueryError(.forbidden, code: "read_only",
                             message: "\(SQLText.firstKeyword(sql) ?? "this") statements are not allowed: the query API only runs read queries (SELECT)")
        }
        if let violation = Self.violation(in: tree, deniedViews: deniedViews, allowed: tableFunctions) { throw violation }
        if let relation = tree.relations.first(where: { relation in
            relation.contains { part in deniedCatalogPrefixes.contains { part.hasPrefix($0) } }
        }) {
            throw QueryError(.forbidden, code: "permission_denied",
                             message: "'\(relation.joined(separator: "."))' is the lake's catalog: the query API reads the lake's tables only")
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
