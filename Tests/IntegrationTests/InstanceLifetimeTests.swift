import DuckDBKit
@testable import DucklingCore
import DucklingTestSupport
import Foundation
import Testing

/// DuckDB instances really close: after a restore nothing holds the old file or its memory, and
/// after SIGTERM the file opens with no WAL to replay.
@Suite(.serialized) struct InstanceLifetimeTests {
    @Test func aRestoreReleasesTheOldFileAndItsMemory() async throws {
        try await TestServer.run { server in
            let database = try #require(server.services.registry.database("default"))
            let path = database.settings.path
            try await database.withWriter { writer in
                try await writer.run { try $0.execute("CREATE TABLE big AS SELECT range AS id, md5(range::VARCHAR) AS digest, random() AS r FROM range(4000000)") }
            }
            #expect(try await server.request(.POST, "/automation/backup").status == 200)
            // Every block of the table in the buffer pool, several times over.
            for _ in 0..<4 {
                let reply = try await server.query("SELECT count(DISTINCT digest), sum(r) FROM big", timeout: .seconds(120))
                #expect(reply.status == 200, "\(reply.text)")
            }
            let warm = ProcessResources.residentBytes
            let restored = try await server.request(.POST, "/automation/restore")
            #expect(restored.status == 200, "\(restored.text)")
            // The old file was unlinked when the swap finished: no descriptor may still point at it.
            let held = ProcessResources.openFiles(startingWith: path).filter { $0.hasSuffix("(deleted)") || $0.contains(".pre-restore") }
            #expect(held.isEmpty, "the old database is still open: \(held)")
            // Its buffer pool went with it: the process gives the memory back (allocators return it
            // lazily, so this waits for it, up to half a minute).
            let fell = await eventually { ProcessResources.residentBytes <= warm - (150 << 20) }
            #expect(fell, "RSS was \(warm >> 20) MB before the restore and is \(ProcessResources.residentBytes >> 20) MB after")
            let count = try await server.query("SELECT count(*) FROM big")
            #expect(count.text.contains("4000000"), "\(count.text)")
        }
    }

    @Test func afterSIGTERMTheFileOpensWithNoWALToReplay() async throws {
        let table = SyncFixture.uniqueName("terminated")
        try TestEnvironment.psql("CREATE TABLE \(table) (id int PRIMARY KEY, note text); INSERT INTO \(table) SELECT g, md5(g::text) FROM generate_series(1, 20000) g")
        defer { _ = try? TestEnvironment.psql("DROP TABLE \(table)") }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try SyncFixture.configuration(datasets: "terminated: { source: pg, table: \(table), primary_key: [id] }")
            .replacingOccurrences(of: "  default:\n", with: "  default:\n    path: \(directory)/kept.db\n")
            .write(toFile: directory + "/duckling.yaml", atomically: true, encoding: .utf8)
        let server = try ServerProcess(config: "duckling.yaml", directory: directory, environment: ProcessEnvironment.clean(["AUTO_START_SYNC": "false"]))
        try await server.waitUntilHealthy()
        let (status, body) = try await server.request(.POST, "/api/store/sync/terminated?wait=true")
        #expect(status == 200, "\(body)")
        // The sync committed into the WAL; a clean shutdown checkpoints it into the file.
        #expect(FileManager.default.fileExists(atPath: directory + "/kept.db.wal"))
        #expect(server.terminate() == 0)
        #expect(!FileManager.default.fileExists(atPath: directory + "/kept.db.wal"), "a WAL was left to replay")
        let reopened = try Database(path: directory + "/kept.db", configuration: DatabaseConfiguration(accessMode: .readOnly)).connect()
        #expect(try reopened.query("SELECT count(*) FROM terminated").scalar() == .bigint(20000))
    }
}
