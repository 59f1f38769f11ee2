import DuckDBKit
@testable import DucklingCore
import DucklingTestSupport
import Foundation
import Testing

/// Interleavings of the sync engine, each provoked on purpose with a failpoint instead of a timer.
@Suite(.serialized) struct SyncRaceTests {
    private func table(rows: Int) throws -> String {
        let table = SyncFixture.uniqueName("raced")
        try TestEnvironment.psql("""
            CREATE TABLE \(table) (id int PRIMARY KEY, at timestamptz NOT NULL);
            INSERT INTO \(table) SELECT g, '2024-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, \(rows)) g;
            """)
        return table
    }

    /// A configuration whose dataset `name` copies `table` into a file at a path of its own (in
    /// `directory`, so several servers can run on it one after the other), synced once in full.
    /// Returns the configuration, the file, and the dataset's recorded `last_full`.
    private func syncedOnce(_ name: String, table: String, directory: String) async throws -> (yaml: String, file: String, lastFull: String?) {
        let file = directory + "/\(name).db"
        let yaml = try SyncFixture.configuration(datasets: "\(name): { source: pg, table: \(table), primary_key: [id], incremental_column: at }")
            .replacingOccurrences(of: "  default:\n", with: "  default:\n    path: \(file)\n")
        let lastFull = try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            let first = try await SyncFixture.sync(server, name)
            #expect(first["sync_type"] as? String == "full" && first["status"] as? String == "succeeded", "\(first)")
            return try await SyncFixture.status(server, name)["last_full"] as? String
        }
        return (yaml, file, lastFull)
    }

    private func path(_ server: TestServer) throws -> String {
        try #require(server.services.registry.database("default")).settings.path
    }

    @Test func resettingAWatermarkHoldsTheDatasetSoNoRunCanOverwriteTheReset() async throws {
        let table = try table(rows: 1000)
        defer { _ = try? TestEnvironment.psql("DROP TABLE \(table)") }
        let yaml = try SyncFixture.configuration(datasets: "held: { source: pg, table: \(table), primary_key: [id], incremental_column: at }")
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            #expect(try await SyncFixture.sync(server, "held")["status"] as? String == "succeeded")
            Failpoints.enable("sync.reset-watermark", .pause, scope: try path(server))
            defer { Failpoints.disable("sync.reset-watermark") }
            let reset = Task { try await server.request(.POST, "/api/store/sync/held/reset-watermark") }
            await Failpoints.waitUntilHit("sync.reset-watermark")
            // While the reset writes, a run would read the old watermark and commit over the reset.
            let during = try await server.request(.POST, "/api/store/sync/held")
            #expect(during.status == 409, "\(during.text)")
            #expect(during.errorCode == "sync_running")
            Failpoints.resume("sync.reset-watermark")
            #expect(try await reset.value.status == 200)
            let next = try await SyncFixture.sync(server, "held")
            #expect(next["sync_type"] as? String == "full", "the reset was lost: \(next)")
        }
    }

    @Test func aFailedPreparationIsRetriedAndARunWaitsForIt() async throws {
        let table = try table(rows: 1000)
        defer { _ = try? TestEnvironment.psql("DROP TABLE \(table)") }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (yaml, file, _) = try await syncedOnce("raced", table: table, directory: directory)
        try TestEnvironment.psql("INSERT INTO \(table) SELECT g, '2025-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1001, 1010) g")
        // The next start's first preparation fails (as when the file cannot be read for a moment).
        Failpoints.enable("sync.prepare", .error, scope: file, times: 1)
        defer { Failpoints.disable("sync.prepare") }
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            // A run asked for at once waits for a preparation that succeeds, so it reads the
            // recorded watermark instead of rebuilding from nothing.
            let result = try await SyncFixture.sync(server, "raced")
            #expect(result["status"] as? String == "succeeded", "\(result)")
            #expect(result["sync_type"] as? String == "incremental", "\(result)")
            #expect(result["rows_read"] as? Int == 10)
            #expect(Failpoints.hitCount("sync.prepare") >= 2, "the failed preparation was not tried again")
            #expect(try await SyncFixture.count(server, "raced") == 1010)
        }
    }

    @Test func aRunThatCannotLoadTheStateWritesNothingOverIt() async throws {
        let table = try table(rows: 1000)
        defer { _ = try? TestEnvironment.psql("DROP TABLE \(table)") }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (yaml, file, recorded) = try await syncedOnce("kept", table: table, directory: directory)
        #expect(recorded != nil)
        // The start's preparation and the next run's both fail.
        Failpoints.enable("sync.prepare", .error, scope: file, times: 2)
        defer { Failpoints.disable("sync.prepare") }
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            let failed = try await SyncFixture.sync(server, "kept")
            #expect(failed["status"] as? String == "failed", "\(failed)")
            #expect((failed["error"] as? String)?.contains("could not be loaded") == true, "\(failed)")
            // What the first server recorded is intact: the next run is incremental from its watermark,
            // and the dataset's recorded state (its last full rebuild) was not overwritten.
            let next = try await SyncFixture.sync(server, "kept")
            #expect(next["status"] as? String == "succeeded" && next["sync_type"] as? String == "incremental", "\(next)")
            let status = try await SyncFixture.status(server, "kept")
            #expect(status["rows"] as? Int == 1000)
            #expect(status["last_full"] as? String == recorded, "\(status)")
        }
    }

    @Test func aRestoreCancelsSyncsThatOutstayTheirPatience() async throws {
        let fixture = try BackupFixture(rows: 500)
        defer { fixture.drop() }
        let slow = SyncFixture.uniqueName("slow")
        try TestEnvironment.psql("CREATE TABLE \(slow) (id int PRIMARY KEY); INSERT INTO \(slow) VALUES (1)")
        defer { _ = try? TestEnvironment.psql("DROP TABLE \(slow)") }
        let yaml = try fixture.yaml().replacingOccurrences(
            of: "primary_key: [id], incremental_column: updated_at }",
            with: "primary_key: [id], incremental_column: updated_at }\n      slow: { source: pg, dataset_query: \"SELECT s.* FROM \(slow) s, (SELECT pg_sleep(60)) AS pause\", results_query: \"SELECT 1 AS dataset_id\" }")
        try await TestServer.run(yaml: yaml, environment: BackupFixture.environment()) { server in
            #expect(try await SyncFixture.sync(server, "orders")["status"] as? String == "succeeded")
            #expect(try await server.request(.POST, "/automation/backup").status == 200)
            try #require(server.services.syncScheduler.engine(for: "default")).setPausePatience(.seconds(1))
            #expect(try await server.request(.POST, "/api/store/sync/slow").status == 202)
            // The run is under way once PostgreSQL is sleeping for it.
            let sleeping = "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()"
            #expect(try await eventually { try TestEnvironment.psql(sleeping) != "0" }, "the slow sync never reached PostgreSQL")
            let started = ContinuousClock.now
            let restored = try await server.request(.POST, "/automation/restore", timeout: .seconds(90))
            let waited = ContinuousClock.now - started
            #expect(restored.status == 200, "\(restored.text)")
            #expect(waited < .seconds(20), "the restore waited \(waited) for a sync that would take a minute")
            // The run was cancelled (its statement at PostgreSQL too); the restored file's state shows no run.
            let status = try await SyncFixture.status(server, "slow")
            #expect(status["state"] as? String != "syncing" && status["run_id"] == nil, "\(status)")
            #expect(try TestEnvironment.psql(sleeping) == "0")
            #expect(try await BackupFixture.state(server).rows == 500)
        }
    }
}
