@testable import DucklingCore
import DucklingTestSupport
import Foundation
import Testing

/// File work and DuckDB opens run on the blocking I/O threads: however long they take, the
/// cooperative pool (which answers every request) stays free.
@Suite(.serialized) struct BlockingWorkTests {
    @Test func slowBackupListingsAndOpensLeaveTheServerResponsive() async throws {
        try await TestServer.run(yaml: "databases:\n  second: {}\n", environment: BackupFixture.environment()) { server in
            let backup = try await server.request(.POST, "/automation/backup")
            #expect(backup.status == 200, "\(backup.text)")
            // Each listing's directory and manifest reads take 1.5 s (more listings than the pool has threads).
            Failpoints.enable("backup.list", .sleep(milliseconds: 1500), scope: server.dataDirectory)
            defer { Failpoints.disable("backup.list") }
            let started = ContinuousClock.now
            let listings = (0..<8).map { _ in Task { try await server.request(.GET, "/api/backups") } }
            await Failpoints.waitUntilHit("backup.list", count: 8)
            let probe = ContinuousClock.now
            #expect(try await server.request(.GET, "/health", key: .none).status == 200)
            #expect(try await server.query("SELECT 1").status == 200)
            // Blocked pool threads would hold these up for the listings' whole 1.5 s.
            #expect(ContinuousClock.now - probe < .seconds(1), "the server stalled while listings read files")
            for listing in listings { #expect(try await listing.value.status == 200) }
            #expect(ContinuousClock.now - started >= .milliseconds(1500), "the listings did not go through the slow path")

            // Opening a database (a restore's reopen, which may replay a long WAL) is blocking work too.
            Failpoints.enable("database.open", .sleep(milliseconds: 1500), scope: server.dataDirectory)
            defer { Failpoints.disable("database.open") }
            let restore = Task { try await server.request(.POST, "/automation/restore") }
            await Failpoints.waitUntilHit("database.open")
            let during = ContinuousClock.now
            #expect(try await server.query("SELECT 1", db: "second").status == 200)
            #expect(ContinuousClock.now - during < .seconds(1))
            #expect(try await restore.value.status == 200)
        }
    }
}
