import DuckDBKit
@testable import DucklingCore
import DucklingTestSupport
import Foundation
import Testing

/// Cleanup, the circuit breaker, statistics, health and the configuration endpoints, against the
/// test PostgreSQL and moto.
@Suite(.serialized) struct SelfRepairTests {
    static func writer(_ server: TestServer, _ sql: String) async throws {
        guard let database = server.services.registry.database("default") else { throw TestFailure("no default database") }
        try await database.withWriter { writer in try await writer.run { try $0.execute(sql) } }
    }

    @Test func cleanupRemovesLeftoversAndOldLogsAndGivesFreedSpaceBack() async throws {
        let table = SyncFixture.uniqueName("shrink")
        try TestEnvironment.psql("""
            CREATE TABLE \(table) (id bigint PRIMARY KEY, payload text);
            INSERT INTO \(table) SELECT g, repeat(md5(g::text), 6) FROM generate_series(1, 400000) g;
            """)
        defer { _ = try? TestEnvironment.psql("DROP TABLE IF EXISTS \(table)") }
        let yaml = try SyncFixture.configuration(datasets: "shrink: { source: pg, table: \(table), primary_key: [id] }")
            + "\n    automation: { retention_days: 30 }"
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            #expect(try await SyncFixture.sync(server, "shrink")["status"] as? String == "succeeded")
            // What old days leave behind.
            try await Self.writer(server, """
                INSERT INTO _duckling.sync_log (run_id, dataset, trigger, sync_type, status, started_at) VALUES ('old-run', 'shrink', 'api', 'full', 'succeeded', now() - INTERVAL 200 DAY);
                INSERT INTO _duckling.sync_log (run_id, dataset, trigger, sync_type, status, started_at) VALUES ('recent-run', 'shrink', 'api', 'full', 'succeeded', now() - INTERVAL 2 DAY)
                """)
            let spill = server.dataDirectory + "/tmp/default/duckdb_temp_storage_S256K-99.tmp"
            try Data(repeating: 1, count: 4096).write(to: URL(fileURLWithPath: spill))
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-3600)], ofItemAtPath: spill)

            // A full sync shrinks the table by 80%: its old blocks stay in the file as free blocks.
            try TestEnvironment.psql("DELETE FROM \(table) WHERE id % 5 <> 0")
            #expect(try await SyncFixture.sync(server, "shrink", full: true)["status"] as? String == "succeeded")
            // What a killed run leaves behind.
            try await Self.writer(server, "CREATE TABLE main._duckling_staging_shrink AS SELECT 1 AS leftover")
            let database = try #require(server.services.registry.database("default"))
            try await Self.writer(server, "CHECKPOINT")
            let before = try #require(database.storageBytes.file)

            // Queries during the cleanup succeed with every row, or get 503 with Retry-After; the
            // swap is held open a while (once the new file is open, before it serves) so some land in it.
            Failpoints.enable("restore.after-reopen", .sleep(milliseconds: 1500), scope: database.settings.path, times: 1)
            let stop = ManagedAtomicFlag()
            async let readers = Self.readWhileCleaning(server, stop: stop)
            let reply = try await server.request(.POST, "/automation/cleanup")
            stop.set()
            let (wrong, unavailable) = try await readers
            #expect(wrong.isEmpty, "\(wrong)")
            #expect(unavailable > 0, "no query landed in the swap")
            #expect(reply.status == 200, "\(reply.text)")
            let result = try #require(try reply.json["result"] as? [String: Any])
            #expect(result["staging_tables_dropped"] as? [String] == ["_duckling_staging_shrink"])
            #expect(result["temp_files_removed"] as? [String] == ["duckdb_temp_storage_S256K-99.tmp"])
            #expect(result["sync_log_rows_removed"] as? Int == 1)
            #expect(result["rewritten"] as? Bool == true, "\(result)")
            let after = try #require(database.storageBytes.file)
            #expect(after * 2 <= before, "the file went from \(before) to \(after) bytes")
            #expect((result["file_bytes_before"] as? Int).map(Int64.init) == before)
            #expect(!FileManager.default.fileExists(atPath: spill))
            #expect(try await SyncFixture.count(server, "shrink") == 80000)
            #expect(try await SyncFixture.copyRows(server, "SELECT count(*) FROM _duckling.sync_log WHERE run_id = 'recent-run'") == [[.bigint(1)]])
            #expect(try await SyncFixture.copyRows(server, "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '_duckling_staging%'") == [[.bigint(0)]])
            // The copy still syncs incrementally after the swap.
            try TestEnvironment.psql("INSERT INTO \(table) VALUES (500001, 'new')")
            #expect(try await SyncFixture.sync(server, "shrink")["status"] as? String == "succeeded")
            #expect(try await SyncFixture.count(server, "shrink") == 80001)
        }
    }

    /// Every answer during a cleanup is the whole table (80,000 rows) or a 503 with Retry-After.
    static func readWhileCleaning(_ server: TestServer, stop: ManagedAtomicFlag) async throws -> (wrong: [String], unavailable: Int) {
        var wrong: [String] = []
        var answered = 0
        var unavailable = 0
        while !stop.isSet || answered == 0 {
            let reply = try await server.query("SELECT count(*) FROM shrink")
            answered += 1
            if reply.status == 200 {
                let rows = try reply.json["rows"] as? [[Any]]
                if rows?.first?.first as? String != "80000" { wrong.append(reply.text) }
            } else if reply.status == 503 && reply.headers["Retry-After"].first != nil {
                unavailable += 1
            } else {
                wrong.append("\(reply.status) \(reply.text)")
            }
        }
        return (wrong, unavailable)
    }

    @Test func engineFailuresOpenTheBreakerAndCallerMistakesDoNot() async throws {
        // Without the lake, the database gets more of a small budget, which the query exhausts.
        let yaml = "query: { breaker_failures: 3, breaker_cooldown: 2s }\nlake: { enabled: false }"
        try await TestServer.run(yaml: yaml, environment: ["DUCKDB_MEMORY_LIMIT": "512MB", "AUTO_START_SYNC": "false"]) { server in
            let oom = "SELECT len(list(i)) FROM range(400000000) r(i)"
            // Caller mistakes in between do not count, and do not reset the count either.
            for _ in 0..<2 {
                #expect(try await server.query(oom).status == 500)
                #expect(try await server.query("SELEC 1").status == 400)
                #expect(try await server.query("CREATE TABLE t (i INT)").status == 403)
            }
            #expect(try await server.query(oom).status == 500)
            let refused = try await server.query("SELECT 1")
            #expect(refused.status == 503 && refused.errorCode == "circuit_open", "\(refused.text)")
            #expect(refused.headers["Retry-After"].first.flatMap(Int.init).map { $0 >= 1 } == true)
            let health = try await server.request(.GET, "/api/health").json
            let databases = health["databases"] as? [[String: Any]]
            #expect((databases?.first?["circuit_breaker"] as? [String: Any])?["state"] as? String == "open")
            let metrics = try await server.request(.GET, "/metrics").text
            #expect(metrics.contains(#"duckling_circuit_breaker_state{database="default",state="open"} 1"#))

            // After the cool-down one probe goes through and closes it.
            try await Task.sleep(for: .seconds(2.2))
            #expect(try await server.query("SELECT 1").status == 200)
            #expect(try await server.query("SELECT 2").status == 200)

            // Open again, then reset at once.
            for _ in 0..<3 { _ = try await server.query(oom) }
            #expect(try await server.query("SELECT 1").errorCode == "circuit_open")
            let reset = try await server.request(.POST, "/api/circuit-breaker/reset")
            #expect(reset.status == 200)
            #expect(try await server.query("SELECT 1").status == 200)
            let statistics = try await server.request(.GET, "/api/statistics").json
            #expect((statistics["circuit_breaker"] as? [String: Any])?["times_opened"] as? Int == 2)
        }
    }

    @Test func statisticsAgreeWithMeasuredLatenciesAndLogSlowQueriesWithoutParameters() async throws {
        try await TestServer.run(yaml: "query: { slow_query_ms: 150 }", environment: ["AUTO_START_SYNC": "false"]) { server in
            // One kind of query, so the percentiles sit inside one cluster of latencies.
            var measured: [Double] = []
            for _ in 0..<60 {
                let started = ContinuousClock.now
                #expect(try await server.query("SELECT sum(i) FROM range(20000000) r(i)").status == 200)
                measured.append((ContinuousClock.now - started).milliseconds)
            }
            let before = try await server.request(.GET, "/api/statistics").json
            let latency = try #require((before["queries"] as? [String: Any])?["latency"] as? [String: Any])
            let sorted = measured.sorted()
            for (key, quantile) in [("p50_ms", 0.5), ("p90_ms", 0.9)] {
                let server = try #require(latency[key] as? Double)
                let client = sorted[Int(Double(sorted.count) * quantile) - 1]
                // The server's time leaves out the HTTP round trip, a little less than the client's.
                #expect(abs(server - client) <= client * 0.2, "\(key): server \(server) ms, client \(client) ms")
            }
            let secret = "param-\(UUID().uuidString)"
            let slow = try await server.query("SELECT count(*) FROM range(60000000) r(i) WHERE i::VARCHAR <> $1", extra: ["params": [secret]])
            #expect(slow.status == 200)
            let statistics = try await server.request(.GET, "/api/statistics").json
            let queries = try #require(statistics["queries"] as? [String: Any])
            #expect(queries["succeeded"] as? Int == 61)
            let logged = try #require(queries["slow_queries"] as? [[String: Any]])
            #expect(logged.contains { ($0["sql"] as? String)?.contains("range(60000000)") == true })
            #expect(!String(decoding: try JSONSerialization.data(withJSONObject: statistics), as: UTF8.self).contains(secret))
            let engine = statistics["engine"] as? [String: Any]
            #expect((engine?["memory"] as? [[String: Any]])?.isEmpty == false)
            #expect((statistics["process"] as? [String: Any])?["resident_bytes"] as? Int ?? 0 > 0)
            #expect(try await server.request(.GET, "/metrics/performance").status == 200)
            #expect(try await server.request(.GET, "/metrics/memory").status == 200)
        }
    }

    @Test func healthIsDegradedWhileTheSourceIsDownAndHealthyWhenItIsBack() async throws {
        let table = SyncFixture.uniqueName("healthy")
        try TestEnvironment.psql("CREATE TABLE \(table) (id int PRIMARY KEY); INSERT INTO \(table) VALUES (1)")
        defer { _ = try? TestEnvironment.psql("DROP TABLE IF EXISTS \(table)") }
        let yaml = try SyncFixture.configuration(datasets: "h: { source: pg, table: \(table), primary_key: [id], sync_mode: manual }")
            + "\n    automation: { health_check_interval_seconds: 1, health_check_timeout_seconds: 3, auto_backup: false, auto_cleanup: false }"
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            #expect(try await server.request(.POST, "/automation/start").status == 200)
            let state = { () async throws -> String? in
                (try await server.request(.GET, "/automation/status").json["status"] as? [String: Any])?["health"] as? String
            }
            #expect(try await eventually(within: .seconds(15)) { try await state() == "healthy" })
            try TestEnvironment.postgres("stop")
            let degraded = try await eventually(within: .seconds(20)) { try await state() == "degraded" }
            let served = try await server.query("SELECT 1").status
            try TestEnvironment.postgres("start")
            #expect(degraded)
            #expect(served == 200)
            #expect(try await eventually(within: .seconds(20)) { try await state() == "healthy" })
        }
    }

    @Test func configSummaryShowsNoSecretAndValidateNamesWhatIsWrong() async throws {
        let auth = try S3Test.startAuthServer()
        let password = "duckling-test-secret"
        let wrongSecret = "wrong-\(UUID().uuidString)"
        let yaml = """
            databases:
              default:
                sources:
                  pg: { url: "\(try TestEnvironment.postgresURL)" }
                  gone: { url: "postgresql://nobody:gone-password@127.0.0.1:9/none", connect_timeout: 2 }
                datasets:
                  a: { source: pg, table: public.none_such }
                  b: { source: gone, table: public.none_such }
                backup:
                  s3:
                    bucket_url: s3://\(auth.bucket)/validate
                    endpoint: \(auth.endpoint)
                    path_style: true
                    access_key: \(auth.accessKey)
                    secret_key: \(wrongSecret)
            """
        let key = Data((0..<32).map { UInt8($0) }).base64EncodedString()
        try await TestServer.run(yaml: yaml, environment: ["DUCKLING_BACKUP_KEY": key, "AUTO_START_SYNC": "false"]) { server in
            let summary = try await server.request(.GET, "/config/summary")
            #expect(summary.status == 200)
            for secret in [password, "gone-password", wrongSecret, key, server.adminKey, TestServer.readOnlyKey] {
                #expect(!summary.text.contains(secret), "the summary shows a secret")
            }
            #expect(try await server.request(.GET, "/config/summary", key: .readOnly).status == 403)
            let validate = try await server.request(.GET, "/config/validate")
            #expect(validate.status == 200)
            let json = try validate.json
            #expect(json["valid"] as? Bool == false)
            let checks = try #require(json["checks"] as? [[String: Any]])
            let failing = checks.filter { $0["ok"] as? Bool == false }.compactMap { $0["name"] as? String }
            #expect(failing.contains("source gone"), "\(checks)")
            #expect(!failing.contains("source pg"), "\(checks)")
            #expect(failing.contains("s3 bucket \(auth.bucket)"), "\(checks)")
            for secret in [password, "gone-password", wrongSecret, key] { #expect(!validate.text.contains(secret)) }
            #expect(try await server.request(.GET, "/config/validate?db=nope").status == 404)
            #expect(try await server.request(.GET, "/automation/status?db=nope").status == 404)
            #expect(try await server.request(.GET, "/api/statistics", key: .none).status == 401)
        }
    }
}

/// Recovery of a database DuckDB invalidated, and of one whose file went away.
@Suite(.serialized) struct RecoveryTests {
    static func yaml(small path: String) -> String {
        """
        databases:
          default: {}
          small:
            path: \(path)
            automation: { health_check_interval_seconds: 1, max_restart_attempts: 2, auto_backup: false, auto_cleanup: false }
        """
    }

    static func health(_ server: TestServer, _ db: String) async throws -> String? {
        (try await server.request(.GET, "/automation/status?db=\(db)").json["status"] as? [String: Any])?["health"] as? String
    }

    /// A checkpoint that fills a small tmpfs makes DuckDB invalidate the instance. With the disk
    /// still full, recovery fails MAX_RESTART_ATTEMPTS times and the database is failed (the other
    /// keeps serving); once space is freed a check reopens it with every committed row.
    @Test func aDatabaseInvalidatedByAFullDiskIsFailedUntilSpaceIsFreedThenReopened() async throws {
        let mount = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: mount) }
        let mounted = try run("/bin/mount", ["-t", "tmpfs", "-o", "size=40m", "tmpfs", mount])
        try #require(mounted.status == 0, "cannot mount a tmpfs (the tests run as root): \(mounted.stderr)")
        defer { _ = try? run("/bin/umount", ["-l", mount]) }
        try await TestServer.run(yaml: Self.yaml(small: mount + "/small.db"), environment: ["AUTO_START_SYNC": "true"]) { server in
            let small = try #require(server.services.registry.database("small"))
            // About 15 MB of committed rows, all still in the WAL (under DuckDB's checkpoint threshold).
            try await small.withWriter { writer in
                try await writer.run { connection in
                    try connection.execute("CREATE TABLE t (i BIGINT, s VARCHAR)")
                    for part in 0..<4 {
                        try connection.execute("INSERT INTO t SELECT i, md5(i::VARCHAR) || md5((i + 1)::VARCHAR) FROM range(\(part * 50_000), \((part + 1) * 50_000)) r(i)")
                    }
                }
            }
            let filler = mount + "/filler"
            let free = try #require(DiskSpace.available(at: URL(fileURLWithPath: mount)))
            try #require(run("/usr/bin/fallocate", ["-l", String(free), filler]).status == 0)
            // The checkpoint cannot write its blocks: DuckDB invalidates the instance.
            let cleanup = try await server.request(.POST, "/automation/cleanup?db=small")
            #expect(cleanup.status == 500, "\(cleanup.text)")

            let failed = try await eventually(within: .seconds(20)) { try await Self.health(server, "small") == "failed" }
            #expect(failed)
            let refused = try await server.query("SELECT count(*) FROM t", db: "small")
            #expect(refused.status == 503 && refused.errorCode == "database_failed", "\(refused.text)")
            #expect(try await server.request(.GET, "/ready", key: .none).status == 503)
            #expect(try await server.request(.GET, "/metrics").text.contains(#"duckling_database_up{database="small"} 0"#))
            #expect(try await server.query("SELECT 42").status == 200, "the other database stopped serving")

            try FileManager.default.removeItem(atPath: filler)
            // Checks go on while it is failed: the next one that can reopen and checkpoint brings it back.
            #expect(try await eventually(within: .seconds(10)) { try await Self.health(server, "small") == "healthy" })
            let rows = try await server.rows("SELECT count(*), count(DISTINCT i) FROM t", db: "small")
            #expect(rows.first?.first as? String == "200000" && rows.first?.last as? String == "200000", "\(rows)")
            #expect(try await server.request(.GET, "/ready", key: .none).status == 200)
        }
    }

    /// A database file deleted under the server is never replaced by a new empty database: the
    /// database ends up failed, the other keeps serving.
    @Test func aDeletedDatabaseFileIsNeverReplacedByAnEmptyOne() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/small.db"
        try await TestServer.run(yaml: Self.yaml(small: path)) { server in
            let small = try #require(server.services.registry.database("small"))
            try await small.withWriter { writer in try await writer.run { try $0.execute("CREATE TABLE t AS SELECT 1 AS i; CHECKPOINT") } }
            #expect(try await server.request(.POST, "/automation/backup?db=small").status == 200)
            try FileManager.default.removeItem(atPath: path)
            #expect(try await eventually(within: .seconds(20)) { try await Self.health(server, "small") == "failed" })
            let refused = try await server.query("SELECT * FROM t", db: "small")
            #expect(refused.status == 503 && refused.errorCode == "database_failed", "\(refused.text)")
            let status = try await server.request(.GET, "/automation/status?db=small").json["status"] as? [String: Any]
            let problems = (status?["health_report"] as? [String: Any])?["problems"] as? [String]
            #expect(problems?.contains { $0.contains("was deleted") } == true, "\(problems ?? [])")
            #expect(try await server.query("SELECT 42").status == 200)
            #expect(!FileManager.default.fileExists(atPath: path), "a new database file was created in place of the deleted one")

            // Restoring the backup brings it back, and clears the failure at once.
            let restored = try await server.request(.POST, "/automation/restore?db=small")
            #expect(restored.status == 200, "\(restored.text)")
            #expect(try await server.rows("SELECT i FROM t", db: "small").first?.first as? Int == 1)
            #expect(try await server.request(.GET, "/ready", key: .none).status == 200)
        }
    }

    /// A restore that fails while the file is missing puts nothing in its place.
    @Test func aFailedRestoreOfADeletedFileCreatesNoEmptyDatabase() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/small.db"
        try await TestServer.run(yaml: Self.yaml(small: path)) { server in
            let small = try #require(server.services.registry.database("small"))
            try await small.withWriter { writer in try await writer.run { try $0.execute("CREATE TABLE t AS SELECT 1 AS i; CHECKPOINT") } }
            #expect(try await server.request(.POST, "/automation/backup?db=small").status == 200)
            try FileManager.default.removeItem(atPath: path)
            // Failing before the new file is in, and after it was opened: neither leaves a file.
            for failpoint in ["restore.swap.before-move-aside", "restore.after-reopen"] {
                Failpoints.enable(failpoint, .error, scope: path, times: 1)
                let restored = try await server.request(.POST, "/automation/restore?db=small")
                #expect(restored.status >= 500, "\(failpoint): \(restored.text)")
                #expect(!FileManager.default.fileExists(atPath: path), "\(failpoint): the failed restore left a database file in place of the deleted one")
                #expect(try await server.query("SELECT * FROM t", db: "small").status == 503)
            }
            // A later restore still works.
            let restored = try await server.request(.POST, "/automation/restore?db=small")
            #expect(restored.status == 200, "\(restored.text)")
            #expect(try await server.rows("SELECT i FROM t", db: "small").first?.first as? Int == 1)
        }
    }
}
