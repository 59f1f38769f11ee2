import DuckDBKit
@testable import DucklingCore
import DucklingTestSupport
import Foundation
import Testing

/// A failed sync leaves the copy and its watermarks as they were and says why (DESIGN.md §5).
@Suite(.serialized) struct SyncFailureTests {
    /// What must not change when a run fails: the rows, the watermarks.
    private func snapshot(_ server: TestServer, _ table: String) async throws -> [[DuckDBValue]] {
        try await SyncFixture.copyRows(server, "SELECT count(*), sum(hash(copy)) FROM \(table) AS copy")
            + SyncFixture.copyRows(server, "SELECT sub_table, value FROM _duckling.sync_watermarks ORDER BY ALL")
    }

    /// The staging tables (`_duckling_staging_…`, `_duckling_delta_…`, `_duckling_keys_…`) in the copy.
    private let stagingTableCount = "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND starts_with(table_name, '_duckling_')"

    @Test func aFailingSourceQueryChangesNothingAndIsRecorded() async throws {
        let table = SyncFixture.uniqueName("src")
        try TestEnvironment.psql("""
            CREATE TABLE \(table) (id int PRIMARY KEY, label text, at timestamptz NOT NULL);
            INSERT INTO \(table) SELECT g, 'l' || g, '2024-01-01'::timestamptz + g * interval '1 s' FROM generate_series(1, 1000) g;
            """)
        defer { _ = try? TestEnvironment.psql("DROP TABLE IF EXISTS \(table)") }
        let yaml = try SyncFixture.configuration(datasets: """
            things:
              source: pg
              dataset_query: "SELECT id AS dataset_id, label, at FROM \(table)"
              results_query: "SELECT id AS dataset_id, label AS result, at FROM \(table) WHERE id % 2 = 0"
              primary_key: [dataset_id]
              incremental_column: at
            """)
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            #expect(try await SyncFixture.sync(server, "things")["status"] as? String == "succeeded")
            let before = try await snapshot(server, "things_dataset")
            try TestEnvironment.psql("INSERT INTO \(table) VALUES (5000, 'x', now()); ALTER TABLE \(table) RENAME COLUMN label TO renamed")
            for full in [false, true] {
                let result = try await SyncFixture.sync(server, "things", full: full)
                #expect(result["status"] as? String == "failed")
                #expect((result["error"] as? String)?.contains("label") == true, "\(result)")
            }
            #expect(try await snapshot(server, "things_dataset") == before)
            let status = try await SyncFixture.status(server, "things")
            #expect(status["state"] as? String == "error")
            #expect(status["consecutive_failures"] as? Int == 2)
            #expect((status["last_error"] as? String)?.contains("label") == true)
            let log = try await SyncFixture.copyRows(server, "SELECT status, error IS NOT NULL FROM _duckling.sync_log ORDER BY started_at")
            #expect(log.map { $0[0].text ?? "" } == ["succeeded", "failed", "failed"])
            // Repaired at the source, the next run succeeds; a third failure would have forced a full rebuild.
            try TestEnvironment.psql("ALTER TABLE \(table) RENAME COLUMN renamed TO label")
            let result = try await SyncFixture.sync(server, "things")
            #expect(result["status"] as? String == "succeeded")
            #expect(try await SyncFixture.status(server, "things")["consecutive_failures"] as? Int == 0)
        }
    }

    @Test func repeatedFailuresMakeTheNextRunAFullRebuild() async throws {
        let table = SyncFixture.uniqueName("flaky")
        try TestEnvironment.psql("""
            CREATE TABLE \(table) (id int PRIMARY KEY, at timestamptz NOT NULL);
            INSERT INTO \(table) SELECT g, '2024-01-01'::timestamptz + g * interval '1 s' FROM generate_series(1, 100) g;
            CREATE VIEW \(table)_v AS SELECT * FROM \(table);
            """)
        defer { _ = try? TestEnvironment.psql("DROP VIEW IF EXISTS \(table)_v; DROP TABLE IF EXISTS \(table)") }
        let yaml = try SyncFixture.configuration(datasets: "flaky: { source: pg, table: \(table)_v, primary_key: [id], incremental_column: at }")
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            _ = try await SyncFixture.sync(server, "flaky")
            try TestEnvironment.psql("DROP VIEW \(table)_v")
            for _ in 0..<3 { #expect(try await SyncFixture.sync(server, "flaky")["status"] as? String == "failed") }
            try TestEnvironment.psql("CREATE VIEW \(table)_v AS SELECT * FROM \(table)")
            let result = try await SyncFixture.sync(server, "flaky")
            #expect(result["status"] as? String == "succeeded")
            #expect(result["sync_type"] as? String == "full")
        }
    }

    @Test func queryTimeoutStopsTheSourceQueryAndFailsCleanly() async throws {
        let table = SyncFixture.uniqueName("slow")
        try TestEnvironment.psql("""
            CREATE TABLE \(table) (id int PRIMARY KEY, at timestamptz NOT NULL);
            INSERT INTO \(table) SELECT g, now() FROM generate_series(1, 10) g;
            CREATE TABLE \(table)_switch (slow bool);
            INSERT INTO \(table)_switch VALUES (false);
            """)
        defer { _ = try? TestEnvironment.psql("DROP TABLE IF EXISTS \(table), \(table)_switch") }
        let yaml = try SyncFixture.configuration(datasets: """
            slow:
              source: pg
              dataset_query: "SELECT id AS dataset_id, at FROM \(table) WHERE pg_sleep(CASE WHEN (SELECT slow FROM \(table)_switch) THEN 5 ELSE 0 END) IS NOT NULL"
              results_query: "SELECT id AS dataset_id FROM \(table)"
              query_timeout: 1
            """)
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            #expect(try await SyncFixture.sync(server, "slow")["status"] as? String == "succeeded")
            let before = try await snapshot(server, "slow_dataset")
            try TestEnvironment.psql("UPDATE \(table)_switch SET slow = true; INSERT INTO \(table) VALUES (11, now())")
            let started = ContinuousClock.now
            let result = try await SyncFixture.sync(server, "slow", full: true)
            #expect(ContinuousClock.now - started < .seconds(4), "the timeout did not stop the source query")
            #expect(result["status"] as? String == "failed")
            #expect((result["error"] as? String)?.contains("statement timeout") == true, "\(result)")
            #expect(try await snapshot(server, "slow_dataset") == before)
            #expect(try await SyncFixture.copyRows(server, stagingTableCount) == [[.bigint(0)]], "the failed run left staging tables")
        }
    }

    @Test func postgresStoppingMidSyncChangesNothingAndTheNextRunCompletes() async throws {
        let table = SyncFixture.uniqueName("big")
        try TestEnvironment.psql("""
            CREATE TABLE \(table) (id bigint PRIMARY KEY, payload text, at timestamptz NOT NULL);
            INSERT INTO \(table) SELECT g, repeat(md5(g::text), 4), now() FROM generate_series(1, 1500000) g;
            """)
        defer { _ = try? TestEnvironment.psql("DROP TABLE IF EXISTS \(table)") }
        let yaml = try SyncFixture.configuration(datasets: "big: { source: pg, table: \(table), primary_key: [id], incremental_column: at }", workers: 1)
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            try TestEnvironment.psql("DELETE FROM \(table) WHERE id > 1000")
            #expect(try await SyncFixture.sync(server, "big")["status"] as? String == "succeeded")
            // The test server runs without fsync and with synchronous_commit off: make the rows
            // durable before stopping it abruptly. The CHECKPOINT is a command of its own, after the
            // insert committed (in one `-c` string both run in one transaction, the checkpoint before
            // the commit, whose WAL an immediate stop can then lose, and the rows with it).
            try TestEnvironment.psql("INSERT INTO \(table) SELECT g, repeat(md5(g::text), 4), now() FROM generate_series(1001, 1500000) g")
            try TestEnvironment.psql("CHECKPOINT")
            let before = try await snapshot(server, "big")
            let started = try await server.request(.POST, "/api/store/sync/big?full=true")
            #expect(started.status == 202)
            let moving = try await eventually { try await SyncFixture.status(server, "big")["progress_rows"] as? Int ?? 0 > 0 }
            #expect(moving, "the sync never started moving rows")
            try TestEnvironment.postgres("stop")
            var status: [String: Any] = [:]
            _ = try await eventually {
                status = try await SyncFixture.status(server, "big")
                return status["state"] as? String != "syncing"
            }
            try TestEnvironment.postgres("start")
            #expect(status["state"] as? String == "error", "\(status)")
            #expect(try await snapshot(server, "big") == before)
            #expect(try await SyncFixture.copyRows(server, stagingTableCount) == [[.bigint(0)]], "the failed run left staging tables")
            let result = try await SyncFixture.sync(server, "big")
            #expect(result["status"] as? String == "succeeded", "\(result)")
            let count = try await SyncFixture.count(server, "big")
            #expect(count == 1_500_000, "\(count) rows after \(result)")
        }
    }

    @Test func queriesDuringAFullRebuildAllSucceed() async throws {
        let table = SyncFixture.uniqueName("rebuild")
        try TestEnvironment.psql("""
            CREATE TABLE \(table) (id bigint PRIMARY KEY, payload text);
            INSERT INTO \(table) SELECT g, md5(g::text) FROM generate_series(1, 1000000) g;
            """)
        defer { _ = try? TestEnvironment.psql("DROP TABLE IF EXISTS \(table)") }
        let yaml = try SyncFixture.configuration(datasets: "rebuild: { source: pg, table: \(table), partition_column: id }")
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            #expect(try await SyncFixture.sync(server, "rebuild")["status"] as? String == "succeeded")
            try TestEnvironment.psql("INSERT INTO \(table) SELECT g, 'new' FROM generate_series(1000001, 1000100) g")
            let rebuild = Task { try await SyncFixture.sync(server, "rebuild", full: true)["status"] as? String }
            var answers: Set<String> = []
            for _ in 0..<100 {
                let reply = try await server.query("SELECT count(*) FROM rebuild")
                #expect(reply.status == 200, "\(reply.text)")
                if let count = (try reply.json["rows"] as? [[String]])?.first?.first { answers.insert(count) }
            }
            #expect(try await rebuild.value == "succeeded")
            // Every answer was the old copy or the new one, never a half-written one.
            #expect(answers.isSubset(of: ["1000000", "1000100"]), "\(answers)")
            #expect(try await SyncFixture.count(server, "rebuild") == 1_000_100)
        }
    }

    @Test func secretsNeverReachStatusLogsOrResponses() async throws {
        let password = "pw-\(UInt32.random(in: 0...UInt32.max))-secret"
        let port = try TestEnvironment.require("DUCKLING_TEST_PG_PORT")
        let yaml = """
            databases:
              default:
                sources:
                  pg: { url: "postgresql://duckling:\(password)@127.0.0.1:\(port)/duckling_test" }
                datasets:
                  nothing: { source: pg, table: does_not_matter }
            """
        let logs = LogCapture()
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual, logs: logs) { server in
            let reply = try await server.request(.POST, "/api/store/sync/nothing?wait=true")
            #expect(reply.status == 500)
            #expect(reply.text.contains("password authentication failed"), "\(reply.text)")
            let status = try await server.request(.GET, "/api/store/status")
            let log = try await SyncFixture.copyRows(server, "SELECT error FROM _duckling.sync_log")
            let health = try await server.request(.GET, "/api/health")
            // What the server logged, every level: the failure is there, the password is not.
            #expect(logs.text.contains("password authentication failed"), "the failure was not logged: \(logs.text)")
            for text in [reply.text, status.text, health.text, log.description, logs.text] {
                #expect(!text.contains(password), "the password leaked: \(text)")
            }
            #expect(status.text.contains("duckling:••••••@127.0.0.1"))
        }
    }

    @Test func theDataEndpointPagesSortsAndFiltersByAllowListedColumns() async throws {
        let table = SyncFixture.uniqueName("paged")
        try TestEnvironment.psql("""
            CREATE TABLE \(table) (id int PRIMARY KEY, team text, score int);
            INSERT INTO \(table) SELECT g, CASE WHEN g % 2 = 0 THEN 'even' ELSE 'odd' END, g * 10 FROM generate_series(1, 25) g;
            """)
        defer { _ = try? TestEnvironment.psql("DROP TABLE IF EXISTS \(table)") }
        let yaml = try SyncFixture.configuration(datasets: "paged: { source: pg, table: \(table) }")
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            let notYet = try await server.request(.GET, "/api/store/data/paged")
            #expect(notYet.status == 404)
            _ = try await SyncFixture.sync(server, "paged")
            let page = try await server.request(.GET, "/api/store/data/paged?limit=3&offset=2&sort=-score&filter%5Bteam%5D=even", key: .readOnly)
            #expect(page.status == 200, "\(page.text)")
            #expect(try page.json["rows"] as? [[Any]] != nil)
            let ids = (try page.json["rows"] as? [[Any]])?.map { $0[0] as? Int }
            #expect(ids == [20, 18, 16])
            let unknownSort = try await server.request(.GET, "/api/store/data/paged?sort=password")
            #expect(unknownSort.status == 400)
            #expect(unknownSort.errorCode == "unknown_column")
            let injection = try await server.request(.GET, "/api/store/data/paged?filter%5Bteam%5D=even%27%20OR%20%271%27=%271")
            #expect((try injection.json["rows"] as? [[Any]])?.isEmpty == true)
            let badLimit = try await server.request(.GET, "/api/store/data/paged?limit=0")
            #expect(badLimit.status == 400)
        }
    }
}
