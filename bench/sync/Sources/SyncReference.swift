import CDuckDB
import Foundation

/// The reference for `bench/sync`: DuckDB's own `CREATE TABLE … AS SELECT * FROM` the attached
/// PostgreSQL table, into a new database file, with DuckDB's defaults (parallel ctid scans).
///
/// It calls DuckDB's C API directly (`duckdb_query`, as DuckDB's own clients do), not DuckDBKit, so
/// nothing Duckling changes in how statements run can make the reference faster or slower.
///   SyncReference EXTENSION_DIRECTORY POSTGRES_URL TABLE OUTPUT.db
@main
struct SyncReference {
    static func main() {
        let arguments = CommandLine.arguments
        guard arguments.count == 5 else { fail("usage: SyncReference EXTENSION_DIRECTORY POSTGRES_URL TABLE OUTPUT.db") }
        var config: duckdb_config?
        guard duckdb_create_config(&config) == DuckDBSuccess,
              duckdb_set_config(config, "extension_directory", arguments[1]) == DuckDBSuccess else { fail("could not configure DuckDB") }
        var database: duckdb_database?
        var openError: UnsafeMutablePointer<CChar>?
        guard duckdb_open_ext(arguments[4], &database, config, &openError) == DuckDBSuccess else {
            fail("could not open \(arguments[4]): \(openError.map { String(cString: $0) } ?? "?")")
        }
        duckdb_destroy_config(&config)
        var connection: duckdb_connection?
        guard duckdb_connect(database, &connection) == DuckDBSuccess else { fail("could not connect") }
        let table = "\"" + arguments[3].replacingOccurrences(of: "\"", with: "\"\"") + "\""
        let url = "'" + arguments[2].replacingOccurrences(of: "'", with: "''") + "'"
        for sql in [
            "LOAD postgres",
            "ATTACH \(url) AS source (TYPE postgres, READ_ONLY)",
            "CREATE TABLE copy AS SELECT * FROM source.public.\(table)",
            "CHECKPOINT",
        ] {
            run(sql, on: connection)
        }
        print(run("SELECT count(*)::VARCHAR FROM copy", on: connection) ?? "?")
        duckdb_disconnect(&connection)
        duckdb_close(&database)
    }

    /// Runs `sql`; returns the first value of its result as text. Exits on an error.
    @discardableResult
    static func run(_ sql: String, on connection: duckdb_connection?) -> String? {
        var result = duckdb_result()
        defer { duckdb_destroy_result(&result) }
        guard duckdb_query(connection, sql, &result) == DuckDBSuccess else {
            fail("\(sql.prefix(40))…: \(duckdb_result_error(&result).map { String(cString: $0) } ?? "failed")")
        }
        guard duckdb_row_count(&result) > 0, let text = duckdb_value_varchar(&result, 0, 0) else { return nil }
        defer { duckdb_free(text) }
        return String(cString: text)
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("SyncReference: \(message)\n".utf8))
        exit(1)
    }
}
