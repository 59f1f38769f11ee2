import DuckDBKit
import Foundation

/// The reference for `bench/sync`: DuckDB's own `CREATE TABLE … AS SELECT * FROM` the attached
/// PostgreSQL table, into a new database file, with DuckDB's defaults (parallel ctid scans).
///   SyncReference POSTGRES_URL TABLE OUTPUT.db
@main
struct SyncReference {
    static func main() throws {
        let arguments = CommandLine.arguments
        guard arguments.count == 4 else {
            FileHandle.standardError.write(Data("usage: SyncReference POSTGRES_URL TABLE OUTPUT.db\n".utf8))
            exit(2)
        }
        let connection = try Database(path: arguments[3], configuration: DatabaseConfiguration(
            extensionDirectory: Database.installedExtensionDirectory)).connect()
        try connection.execute("LOAD postgres")
        try connection.execute("ATTACH \(SQL.literal(arguments[1])) AS source (TYPE postgres, READ_ONLY)")
        try connection.execute("CREATE TABLE copy AS SELECT * FROM source.public.\(SQL.quoted(arguments[2]))")
        try connection.execute("CHECKPOINT")
        print(try connection.query("SELECT count(*) FROM copy").scalar()?.text ?? "?")
    }
}
