import DuckDBKit
import enum DucklingTestSupport.ProcessResources
import Foundation
import Testing

@Suite struct DatabaseTests {
    @Test func opensInMemoryAndAnswers() throws {
        let connection = try memoryConnection()
        #expect(try connection.single("SELECT 42") == .integer(42))
    }

    @Test func libraryIsThePinnedVersion() {
        #expect(Database.libraryVersion == "v1.5.5")
    }

    @Test func fileDatabaseKeepsDataAcrossOpens() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("kept.db").path
        do {
            let connection = try Database(path: path).connect()
            try connection.execute("CREATE TABLE t AS SELECT range AS i FROM range(1000)")
        }
        let reopened = try Database(path: path, configuration: DatabaseConfiguration(accessMode: .readOnly)).connect()
        #expect(try reopened.single("SELECT sum(i) FROM t") == .hugeint(499_500))
        #expect(throws: DuckDBError.self) { try reopened.execute("INSERT INTO t VALUES (1)") }
    }

    @Test func closingReleasesTheFileEvenWithCachedStatements() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("released.db").path
        let database = try Database(path: path)
        let connection = try database.connect()
        // A cached statement refers back to its connection: it must not keep it (and the file) open.
        _ = try connection.cachedStatement("SELECT 42").execute(streaming: false)
        try connection.execute("CREATE TABLE t AS SELECT range AS i FROM range(10)")
        #expect(!ProcessResources.openFiles(startingWith: path).isEmpty)
        connection.close()
        database.close()
        #expect(await database.waitUntilReleased(within: .seconds(10)))
        #expect(ProcessResources.openFiles(startingWith: path).isEmpty, "\(ProcessResources.openFiles(startingWith: path))")
        // Released means checkpointed: no WAL is left to replay.
        #expect(!FileManager.default.fileExists(atPath: path + ".wal"))
        #expect(throws: DuckDBError.self) { _ = try connection.query("SELECT 1") }
        #expect(throws: DuckDBError.self) { _ = try database.connect() }
    }

    @Test func aStatementLeftOverKeepsTheFileUntilItGoes() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("held.db").path
        let database = try Database(path: path)
        var statement: PreparedStatement?
        do {
            let connection = try database.connect()
            statement = try connection.prepare("SELECT 1")
            connection.close()
        }
        database.close()
        // The statement keeps DuckDB's client context, and with it the file: not released yet.
        #expect(database.openStatementCount == 1)
        #expect(await database.waitUntilReleased(within: .milliseconds(200)) == false)
        #expect(!ProcessResources.openFiles(startingWith: path).isEmpty)
        statement = nil
        #expect(statement == nil)
        #expect(await database.waitUntilReleased(within: .seconds(10)))
        #expect(ProcessResources.openFiles(startingWith: path).isEmpty)
    }

    @Test func aDatabaseDroppedWithoutClosingIsReleasedToo() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("dropped.db").path
        do {
            let connection = try Database(path: path).connect()
            _ = try connection.cachedStatement("SELECT 1").execute(streaming: false)
        }
        #expect(ProcessResources.openFiles(startingWith: path).isEmpty, "\(ProcessResources.openFiles(startingWith: path))")
    }

    @Test func invalidSettingFailsToOpenWithDuckDBsMessage() {
        let error = #expect(throws: DuckDBError.self) {
            _ = try Database(path: nil, configuration: DatabaseConfiguration(memoryLimit: "lots"))
        }
        #expect(error?.code == .openFailed)
        #expect(error?.message.contains("memory_limit") == true)
    }

    @Test func settingsAreApplied() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let connection = try memoryConnection(DatabaseConfiguration(
            memoryLimit: "512MB", threads: 3, tempDirectory: directory.path))
        #expect(try connection.single("SELECT current_setting('threads')") == .bigint(3))
        #expect(try connection.single("SELECT current_setting('temp_directory')") == .varchar(directory.path))
        #expect(try connection.single("SELECT current_setting('autoinstall_known_extensions')") == .boolean(false))
        #expect(try connection.single("SELECT current_setting('TimeZone')") == .varchar("UTC"))
    }

    @Test func installedExtensionsLoadOffline() throws {
        let directory = try #require(Database.installedExtensionDirectory)
        let connection = try memoryConnection(DatabaseConfiguration(extensionDirectory: directory))
        for name in ["postgres", "mysql", "sqlite", "ducklake", "httpfs"] {
            try connection.execute("LOAD \(name)")
        }
        let loaded = try connection.values(
            "SELECT extension_name FROM duckdb_extensions() WHERE loaded AND extension_name IN ('postgres_scanner', 'mysql_scanner', 'sqlite_scanner', 'ducklake', 'httpfs') ORDER BY 1")
        #expect(loaded.map { $0[0] } == ["ducklake", "httpfs", "mysql_scanner", "postgres_scanner", "sqlite_scanner"].map(DuckDBValue.varchar))
    }

    @Test func withoutExternalAccessFilesAndExtensionsAreRefused() throws {
        let connection = try memoryConnection(DatabaseConfiguration(
            extensionDirectory: Database.installedExtensionDirectory, allowsExternalAccess: false))
        for sql in ["SELECT * FROM read_csv('/etc/passwd')", "COPY (SELECT 1) TO '/tmp/x.csv'", "LOAD httpfs", "ATTACH '/tmp/other.db'"] {
            let error = #expect(throws: DuckDBError.self, "\(sql)") { try connection.execute(sql) }
            #expect(error?.kind == .permission, "\(sql): \(String(describing: error))")
        }
    }
}
