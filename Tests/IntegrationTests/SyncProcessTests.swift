import AsyncHTTPClient
import DuckDBKit
import DucklingTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// The sync as a user runs it: the `duckling` binary, killed mid-run, and `duckling sync`.
@Suite(.serialized) struct SyncProcessTests {
    @Test func aServerKilledMidSyncRestartsConsistentAndTheNextSyncCompletes() async throws {
        let table = SyncFixture.uniqueName("killed")
        try TestEnvironment.psql("""
            CREATE TABLE \(table) (id bigint PRIMARY KEY, payload text, at timestamptz NOT NULL);
            INSERT INTO \(table) SELECT g, 'first', '2024-01-01'::timestamptz + g * interval '1 ms' FROM generate_series(1, 1000) g;
            """)
        defer { _ = try? TestEnvironment.psql("DROP TABLE IF EXISTS \(table)") }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try SyncFixture.configuration(datasets: "killed: { source: pg, table: \(table), primary_key: [id], incremental_column: at }", workers: 1)
            .write(toFile: directory + "/duckling.yaml", atomically: true, encoding: .utf8)
        let environment = ProcessEnvironment.clean(["AUTO_START_SYNC": "false"])

        var server = try ServerProcess(config: "duckling.yaml", directory: directory, environment: environment)
        try await server.waitUntilHealthy()
        #expect(try await server.request(.POST, "/api/store/sync/killed?wait=true").0 == 200)
        let watermark = try await server.status("killed")["watermarks"] as? [String: String]
        try TestEnvironment.psql("INSERT INTO \(table) SELECT g, repeat(md5(g::text), 4), '2025-01-01'::timestamptz + g * interval '1 ms' FROM generate_series(1001, 1500000) g; CHECKPOINT")
        #expect(try await server.request(.POST, "/api/store/sync/killed?full=true").0 == 202)
        var progress = 0
        for _ in 0..<400 where progress == 0 {
            try await Task.sleep(for: .milliseconds(10))
            progress = try await server.status("killed")["progress_rows"] as? Int ?? 0
        }
        #expect(progress > 0 && progress < 1_500_000, "the kill did not land mid-run (\(progress) rows moved)")
        server.kill()

        server = try ServerProcess(config: "duckling.yaml", directory: directory, environment: environment)
        try await server.waitUntilHealthy()
        // The recorded state loads in the background once the server is up (on a busy machine,
        // after the first /health answers): the status shows it once loaded.
        var status = try await server.status("killed")
        for _ in 0..<100 where status["rows"] == nil {
            try await Task.sleep(for: .milliseconds(100))
            status = try await server.status("killed")
        }
        #expect(status["rows"] as? Int == 1000)
        #expect(status["watermarks"] as? [String: String] == watermark)
        let copy = try await server.request(.POST, "/api/query?db=default")  // no body: 400, just proves the API is up
        #expect(copy.0 == 400)
        let (code, body) = try await server.request(.POST, "/api/store/sync/killed?wait=true")
        #expect(code == 200, "\(body)")
        let result = body["result"] as? [String: Any]
        #expect(result?["rows"] as? Int == 1_500_000)
        #expect(result?["sync_type"] as? String == "incremental")
        server.kill()

        // The killed run is in the log, marked interrupted; its rows never became visible, and the
        // staging table it was loading (committed, unused) was dropped when the file opened again.
        let log = try run(try ducklingBinary(), [
            "query", """
            SELECT status, (SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND starts_with(table_name, '_duckling')) AS leftovers
            FROM _duckling.sync_log ORDER BY started_at
            """,
            "--format", "csv", "--config", "duckling.yaml",
        ], environment: environment, directory: directory)
        #expect(log.stdout == "status,leftovers\nsucceeded,0\ninterrupted,0\nsucceeded,0\n", "\(log.stdout)\(log.stderr)")
    }

    @Test func sigtermDuringASyncRollsItBackAndStopsPromptly() async throws {
        let table = SyncFixture.uniqueName("term")
        try TestEnvironment.psql("""
            CREATE TABLE \(table) (id bigint PRIMARY KEY, payload text);
            INSERT INTO \(table) SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 1500000) g;
            """)
        defer { _ = try? TestEnvironment.psql("DROP TABLE IF EXISTS \(table)") }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try SyncFixture.configuration(datasets: "term: { source: pg, table: \(table) }", workers: 1)
            .write(toFile: directory + "/duckling.yaml", atomically: true, encoding: .utf8)
        // The default: datasets sync when the server starts.
        let server = try ServerProcess(config: "duckling.yaml", directory: directory, environment: ProcessEnvironment.clean())
        try await server.waitUntilHealthy()
        var progress = 0
        for _ in 0..<400 where progress == 0 {
            try await Task.sleep(for: .milliseconds(10))
            progress = try await server.status("term")["progress_rows"] as? Int ?? 0
        }
        #expect(progress > 0 && progress < 1_500_000, "SIGTERM did not land mid-run (\(progress) rows moved)")
        let stopping = ContinuousClock.now
        server.process.terminate()
        server.process.waitUntilExit()
        #expect(ContinuousClock.now - stopping < .seconds(5), "shutdown waited for the sync")
        #expect(server.process.terminationReason == .exit && server.process.terminationStatus == 0)
        let log = try run(try ducklingBinary(), [
            "query", "SELECT status, (SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND (table_name = 'term' OR table_name LIKE '_duckling%')) FROM _duckling.sync_log",
            "--format", "csv", "--config", "duckling.yaml",
        ], environment: ProcessEnvironment.clean(), directory: directory)
        #expect(log.stdout.hasPrefix("status,"), "\(log.stderr)")
        #expect(log.stdout.contains("cancelled,0"), "the run was not rolled back: \(log.stdout)")
    }

    @Test func theSyncCommandSummarisesEachDatasetAndFailsLoudly() async throws {
        let table = SyncFixture.uniqueName("cli")
        try TestEnvironment.psql("CREATE TABLE \(table) (id int PRIMARY KEY, at timestamptz NOT NULL); INSERT INTO \(table) SELECT g, now() FROM generate_series(1, 500) g")
        defer { _ = try? TestEnvironment.psql("DROP TABLE IF EXISTS \(table)") }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try SyncFixture.configuration(datasets: """
            good: { source: pg, table: \(table), primary_key: [id], incremental_column: at }
            broken: { source: pg, table: no_such_table_here }
            """).write(toFile: directory + "/duckling.yaml", atomically: true, encoding: .utf8)
        let first = try run(try ducklingBinary(), ["sync", "good", "--config", "duckling.yaml"], environment: ProcessEnvironment.clean(), directory: directory)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.hasPrefix("good: full sync succeeded in "))
        #expect(first.stdout.contains("500 rows read, 500 rows in the copy"))
        let again = try run(try ducklingBinary(), ["sync", "good", "--config", "duckling.yaml"], environment: ProcessEnvironment.clean(), directory: directory)
        #expect(again.stdout.hasPrefix("good: incremental sync succeeded"))
        let all = try run(try ducklingBinary(), ["sync", "--config", "duckling.yaml", "--full"], environment: ProcessEnvironment.clean(), directory: directory)
        #expect(all.status == 1)
        #expect(all.stdout.contains("good: full sync succeeded"))
        #expect(all.stdout.contains("broken: failed after"))
        #expect(all.stdout.contains("no_such_table_here"))
        let unknown = try run(try ducklingBinary(), ["sync", "missing", "--config", "duckling.yaml"], environment: ProcessEnvironment.clean(), directory: directory)
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no dataset 'missing'"))

        // The command's runs are in the server's lineage, as the server's own would be.
        let server = try ServerProcess(config: "duckling.yaml", directory: directory, environment: ProcessEnvironment.clean(SyncFixture.manual))
        defer { _ = server.terminate() }
        try await server.waitUntilHealthy()
        let good = try await server.request(.GET, "/jobs/default.sync.good/runs")
        let states = ((good.1["runs"] as? [[String: Any]]) ?? []).compactMap { $0["state"] as? String }
        #expect(states == ["COMPLETE", "COMPLETE", "COMPLETE"], "\(good.1)")
        let broken = try await server.request(.GET, "/jobs/default.sync.broken/runs")
        #expect(((broken.1["runs"] as? [[String: Any]]) ?? []).compactMap { $0["state"] as? String } == ["FAIL"], "\(broken.1)")
    }
}

@Suite(.serialized) struct SyncSchedulerTests {
    @Test func datasetsInStartupModeSyncWhenTheServerStarts() async throws {
        let table = SyncFixture.uniqueName("startup")
        try TestEnvironment.psql("CREATE TABLE \(table) (id int PRIMARY KEY); INSERT INTO \(table) SELECT generate_series(1, 42)")
        defer { _ = try? TestEnvironment.psql("DROP TABLE IF EXISTS \(table)") }
        let yaml = try SyncFixture.configuration(datasets: """
            auto: { source: pg, table: \(table) }
            later: { source: pg, table: \(table), sync_mode: manual }
            """)
        try await TestServer.run(yaml: yaml) { server in
            var status: [String: Any] = [:]
            for _ in 0..<100 {
                status = try await SyncFixture.status(server, "auto")
                if status["state"] as? String == "ready" { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(status["state"] as? String == "ready")
            #expect(status["rows"] as? Int == 42)
            #expect(status["next_run"] != nil, "a synced dataset with an interval has a next run")
            let later = try await SyncFixture.status(server, "later")
            #expect(later["state"] as? String == "idle")
            #expect(later["next_run"] == nil)
        }
    }

    @Test func withIncrementalSyncOffEveryRunIsFull() async throws {
        let table = SyncFixture.uniqueName("nofull")
        try TestEnvironment.psql("CREATE TABLE \(table) (id int PRIMARY KEY, at timestamptz NOT NULL); INSERT INTO \(table) SELECT g, now() FROM generate_series(1, 10) g")
        defer { _ = try? TestEnvironment.psql("DROP TABLE IF EXISTS \(table)") }
        let yaml = try SyncFixture.configuration(datasets: "nofull: { source: pg, table: \(table), primary_key: [id], incremental_column: at }")
        try await TestServer.run(yaml: yaml, environment: ["AUTO_START_SYNC": "false", "ENABLE_INCREMENTAL_SYNC": "false"]) { server in
            for _ in 0..<2 {
                let result = try await SyncFixture.sync(server, "nofull")
                #expect(result["sync_type"] as? String == "full")
            }
        }
    }
}

@Suite(.serialized) struct SQLiteSourceTests {
    @Test func aSQLiteSourceSyncsThroughTheSameEngine() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/shop.sqlite"
        let created = try run("/usr/bin/env", ["python3", "-c", """
            import sqlite3
            c = sqlite3.connect('\(file)')
            c.execute('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price REAL, updated_at TEXT)')
            c.executemany('INSERT INTO items VALUES (?, ?, ?, ?)', [(i, 'item %d' % i, i * 1.5, '2024-01-01 00:00:%02d' % (i % 60)) for i in range(1, 101)])
            c.commit()
            """])
        #expect(created.status == 0, "\(created.stderr)")
        let yaml = """
            databases:
              default:
                sources:
                  shop: { url: "sqlite:\(file)" }
                datasets:
                  items: { source: shop, table: items, primary_key: [id] }
                  cheap: { source: shop, dataset_query: "SELECT id AS dataset_id, name FROM items WHERE price < 10", results_query: "SELECT id AS dataset_id, price FROM items WHERE price < 5" }
            """
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            for dataset in ["items", "cheap"] {
                let result = try await SyncFixture.sync(server, dataset)
                #expect(result["status"] as? String == "succeeded", "\(result)")
            }
            #expect(try await SyncFixture.copyRows(server, "SELECT count(*), sum(price) FROM items") == [[.bigint(100), .double(7575)]])
            #expect(try await SyncFixture.count(server, "cheap") == 6)
        }
    }
}
