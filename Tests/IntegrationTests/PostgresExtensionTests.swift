import DucklingTestSupport
import DuckDBKit
import Foundation
import Testing

/// The pinned postgres extension loads from the installed directory, with downloads off, and
/// reads a real PostgreSQL table.
@Suite(.serialized) struct PostgresExtensionTests {
    @Test func thePinnedExtensionLoadsOfflineAndReadsATable() throws {
        let table = "duckling_it_\(UInt32.random(in: 0...UInt32.max))"
        try TestEnvironment.psql("""
            CREATE TABLE \(table) (id int PRIMARY KEY, name text, amount numeric(10,2), seen timestamptz);
            INSERT INTO \(table) SELECT g, 'row ' || g, g * 1.5, '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 hour'
            FROM generate_series(1, 1000) g;
            """)
        defer { _ = try? TestEnvironment.psql("DROP TABLE \(table)") }

        let extensions = try #require(Database.installedExtensionDirectory)
        let home = try temporaryDirectory()  // an empty home: nothing cached there to fall back on
        defer { try? FileManager.default.removeItem(atPath: home) }
        let connection = try Database(path: nil, configuration: DatabaseConfiguration(
            extensionDirectory: extensions, additionalSettings: ["home_directory": home])).connect()
        try connection.execute("LOAD postgres")
        let installed = try connection.single(
            "SELECT install_path FROM duckdb_extensions() WHERE extension_name = 'postgres_scanner' AND loaded")
        #expect(installed?.text?.hasPrefix(extensions + "/v1.5.5/linux_amd64/postgres_scanner") == true)
        #expect(try connection.single("SELECT extension_version FROM duckdb_extensions() WHERE extension_name = 'postgres_scanner'")?.text != nil)

        try connection.execute("ATTACH \(SQL.literal(try TestEnvironment.postgresURL)) AS source (TYPE postgres, READ_ONLY)")
        let rows = try connection.values("SELECT count(*), sum(id), sum(amount)::VARCHAR, min(name), max(seen)::VARCHAR FROM source.public.\(table)")
        #expect(rows == [[.bigint(1000), .hugeint(500_500), .varchar("750750.00"), .varchar("row 1"), .varchar("2024-02-11 16:00:00+00")]])
        #expect(throws: DuckDBError.self) { try connection.execute("INSERT INTO source.public.\(table) VALUES (0, 'no', 0, now())") }
    }
}

extension Connection {
    func values(_ sql: String) throws -> [[DuckDBValue]] { try query(sql).rows() }
    func single(_ sql: String) throws -> DuckDBValue? { try query(sql).scalar() }
}
