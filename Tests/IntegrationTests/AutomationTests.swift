import DuckDBKit
@testable import DucklingCore
import DucklingTestSupport
import Foundation
import Testing

/// The automation as a user sees it (DESIGN.md §8): nothing is asked for, and yet the copy stays in
/// sync, backups and cleanups happen, and `/automation/status` says when.
@Suite(.serialized) struct AutomationTests {
    static func status(_ server: TestServer) async throws -> [String: Any] {
        let reply = try await server.request(.GET, "/automation/status")
        guard reply.status == 200, let status = try reply.json["status"] as? [String: Any] else {
            throw TestFailure("GET /automation/status: \(reply.status) \(reply.text)")
        }
        return status
    }

    static func date(_ value: Any?) -> Date? {
        (value as? String).flatMap { ISO8601DateFormatter().date(from: $0) }
    }

    static func localBackupCount(_ server: TestServer) throws -> Int {
        let directory = server.dataDirectory + "/backups"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix("backup-default-") && FileManager.default.fileExists(atPath: directory + "/" + $0 + "/manifest.json") }.count
    }

    @Test func withoutAnyRequestTheCopyStaysInSyncAndBackupsAndCleanupsRunUntilStopped() async throws {
        let fixture = try BackupFixture(rows: 1000)
        defer { fixture.drop() }
        let bucket = try await S3Test.makeBucket()
        let yaml = try fixture.yaml(bucket: bucket, extraS3: "interval_hours: 2s") + """

                automation:
                  sync_interval_minutes: 1s
                  backup_interval_hours: 2s
                  cleanup_interval_hours: 2s
                  health_check_interval_seconds: 1
            """
        try await TestServer.run(yaml: yaml, environment: ["DUCKLING_BACKUP_KEY": BackupFixture.key]) { server in
            let store = try S3Test.store(bucket: bucket)
            // No request at all: the first sync, a local and an S3 backup and a cleanup happen on their own.
            let ran = try await eventually(within: .seconds(30)) {
                let status = try await Self.status(server)
                let remote = try await store.list(prefix: "duckling/").filter { $0.key.hasSuffix(".manifest.json") }.count
                return (try? await SyncFixture.count(server, "orders")) == 1000 && status["lastBackup"] is String
                    && status["lastCleanup"] is String && status["lastS3Backup"] is String && remote > 0
            }
            let afterwards = try await Self.status(server)
            #expect(ran, "\(afterwards)")
            try fixture.insert(500)
            #expect(try await eventually(within: .seconds(15)) { (try? await SyncFixture.count(server, "orders")) == 1500 })

            let status = try await Self.status(server)
            #expect(status["isRunning"] as? Bool == true)
            #expect(status["architecture"] as? String == AutomationService.architecture)
            for (last, next) in [("lastSync", "nextSync"), ("lastBackup", "nextBackup"), ("lastCleanup", "nextCleanup"), ("lastS3Backup", "nextS3Backup")] {
                let lastDate = Self.date(status[last]), nextDate = Self.date(status[next])
                #expect(lastDate != nil && nextDate != nil && nextDate! > lastDate!, "\(last) \(status[last] ?? "nil") / \(next) \(status[next] ?? "nil")")
            }
            let tasks = status["tasks"] as? [String: [String: Any]]
            #expect(tasks?["backup"]?["last_outcome"] as? String == "succeeded", "\(tasks ?? [:])")
            #expect(tasks?["cleanup"]?["last_outcome"] as? String == "succeeded", "\(tasks ?? [:])")
            // The runs are in the history, next to the sync runs.
            let history = try await SyncFixture.copyRows(server, "SELECT count(DISTINCT task) FROM _duckling.task_history WHERE outcome = 'succeeded'")
            #expect((history.first?.first.flatMap { if case .bigint(let n) = $0 { n } else { nil } } ?? 0) >= 4, "\(history)")

            // Stopped: nothing runs for three intervals while the source changes.
            #expect(try await server.request(.POST, "/automation/stop").status == 200)
            // A run already going when it was stopped finishes.
            let settled = try await eventually(within: .seconds(30)) {
                let tasks = try await Self.status(server)["tasks"] as? [String: [String: Any]] ?? [:]
                return !tasks.values.contains { $0["state"] as? String == "running" }
            }
            #expect(settled)
            let backupsBefore = try Self.localBackupCount(server)
            try fixture.insert(250)
            try await Task.sleep(for: .seconds(6))
            #expect((try? await SyncFixture.count(server, "orders")) == 1500)
            #expect(try Self.localBackupCount(server) == backupsBefore)
            let stopped = try await Self.status(server)
            #expect(stopped["isRunning"] as? Bool == false && stopped["nextBackup"] == nil, "\(stopped)")
            // A request still works while it is stopped.
            #expect(try await SyncFixture.sync(server, "orders")["status"] as? String == "succeeded")
            try fixture.insert(250)

            #expect(try await server.request(.POST, "/automation/start").status == 200)
            #expect(try await eventually(within: .seconds(15)) { (try? await SyncFixture.count(server, "orders")) == 2000 })
            #expect(try await eventually(within: .seconds(15)) { try Self.localBackupCount(server) > backupsBefore })
        }
    }

    @Test func automationStartsStoppedWithAutoStartSyncFalse() async throws {
        let fixture = try BackupFixture(rows: 10)
        defer { fixture.drop() }
        let yaml = try fixture.yaml() + "\n    automation: { sync_interval_minutes: 1s, backup_interval_hours: 1s }"
        try await TestServer.run(yaml: yaml, environment: ["AUTO_START_SYNC": "false"]) { server in
            try await Task.sleep(for: .seconds(3))
            let status = try await Self.status(server)
            #expect(status["isRunning"] as? Bool == false)
            #expect(try Self.localBackupCount(server) == 0)
            #expect(try await SyncFixture.copyRows(server, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'orders'") == [[.bigint(0)]])
        }
    }

    /// A sync stuck behind a PostgreSQL lock holds up neither the backups nor the health checks.
    @Test func aHungSyncDelaysNeitherBackupsNorHealthChecks() async throws {
        let fixture = try BackupFixture(rows: 100)
        defer { fixture.drop() }
        let yaml = try fixture.yaml() + """

                automation:
                  sync_interval_minutes: 1s
                  backup_interval_hours: 2s
                  health_check_interval_seconds: 1
                  backup_sync_patience_seconds: 1
            """
        try await TestServer.run(yaml: yaml, environment: ["AUTO_START_SYNC": "false"]) { server in
            #expect(try await SyncFixture.sync(server, "orders")["status"] as? String == "succeeded")
            // Hold an exclusive lock on the table: every read of it waits.
            let locker = Process()
            locker.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            locker.arguments = ["psql", try TestEnvironment.postgresURL, "-c", "BEGIN; LOCK TABLE \(fixture.table) IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(40);"]
            locker.standardOutput = FileHandle.nullDevice
            try locker.run()
            defer {
                _ = try? TestEnvironment.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'BEGIN; LOCK TABLE \(fixture.table)%'")
                locker.waitUntilExit()
            }
            let locked = try await eventually(within: .seconds(10)) {
                try TestEnvironment.psql("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = '\(fixture.table)' AND l.mode = 'AccessExclusiveLock' AND l.granted")
                    == "1"
            }
            try #require(locked, "the table was never locked")
            #expect(try await server.request(.POST, "/automation/start").status == 200)
            #expect(try await eventually(within: .seconds(10)) { try await SyncFixture.status(server, "orders")["state"] as? String == "syncing" })
            let started = Date()
            // Backups go on (each cancels the stuck sync after its patience), and so do health checks.
            let backups = try await eventually(within: .seconds(20)) { try Self.localBackupCount(server) >= 2 }
            let afterwards = try await Self.status(server)
            #expect(backups, "\(afterwards)")
            let tasks = try await Self.status(server)["tasks"] as? [String: [String: Any]]
            let checked = Self.date(tasks?["health"]?["last_finished"])
            #expect(checked.map { $0 > started } == true, "\(tasks?["health"] ?? [:])")
        }
    }

    /// The backup schedule survives restarts: an overdue backup runs soon after start; a restart
    /// right after a backup takes no other.
    @Test func aRestartTakesAnOverdueBackupAndRepeatsNoneThatJustRan() async throws {
        let fixture = try BackupFixture(rows: 10)
        defer { fixture.drop() }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Daily backups: the test fails only if it runs across 00:00 UTC.
        let yaml = try fixture.yaml() + "\n    automation: { backup_interval_hours: 24, auto_cleanup: false }"
        try yaml.write(toFile: directory + "/duckling.yaml", atomically: true, encoding: .utf8)
        let environment = ProcessEnvironment.clean()
        let backups = { () -> Int in
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/data/backups")) ?? []
            return names.filter { FileManager.default.fileExists(atPath: directory + "/data/backups/\($0)/manifest.json") }.count
        }

        var server = try ServerProcess(config: "duckling.yaml", directory: directory, environment: environment)
        try await server.waitUntilHealthy()
        #expect(try await server.request(.POST, "/automation/backup").0 == 200)
        #expect(backups() == 1)
        _ = server.terminate()

        // The last backup was two days ago: it is overdue.
        try Self.moveLastSuccess(of: "backup", back: 2 * 86_400, in: directory + "/data/duckling-default.db")
        server = try ServerProcess(config: "duckling.yaml", directory: directory, environment: environment)
        try await server.waitUntilHealthy()
        #expect(try await eventually(within: .seconds(15)) { backups() == 2 }, "the overdue backup was not taken")
        _ = server.terminate()

        server = try ServerProcess(config: "duckling.yaml", directory: directory, environment: environment)
        try await server.waitUntilHealthy()
        try await Task.sleep(for: .seconds(4))
        #expect(backups() == 2, "a backup that had just run was repeated")
        _ = server.terminate()
    }

    static func moveLastSuccess(of task: String, back seconds: Int, in path: String) throws {
        let database = try Database(path: path)
        defer { database.close() }
        let connection = try database.connect()
        defer { connection.close() }
        let changed = try connection.query(
            "UPDATE _duckling.automation_tasks SET last_success = last_success - to_seconds($2), last_finished = last_finished - to_seconds($2) WHERE task = $1",
            [.varchar(task), .bigint(Int64(seconds))]).rowsChanged
        guard changed == 1 else { throw TestFailure("no record of task \(task)") }
    }
}

/// `duckling cleanup` and `duckling automation status` on a file no server holds.
@Suite(.serialized) struct AutomationCommandTests {
    static func json(_ text: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { throw TestFailure("not JSON: \(text)") }
        return object
    }

    @Test func cleanupAndStatusWorkOnAFileNoServerHolds() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "databases:\n  default:\n    automation: { retention_days: 10 }\n".write(toFile: directory + "/duckling.yaml", atomically: true, encoding: .utf8)
        let environment = ProcessEnvironment.clean()
        let binary = try ducklingBinary()
        // The first cleanup creates the records; then a log row from long ago is added.
        #expect(try run(binary, ["cleanup", "--config", "duckling.yaml"], environment: environment, directory: directory).status == 0)
        let database = try Database(path: directory + "/data/duckling-default.db")
        let connection = try database.connect()
        try connection.execute("INSERT INTO _duckling.task_runs (run_id, task, started_at, outcome) VALUES ('ancient', 'backup', now() - INTERVAL 30 DAY, 'succeeded')")
        connection.close()
        database.close()

        let cleanup = try run(binary, ["cleanup", "--config", "duckling.yaml"], environment: environment, directory: directory)
        #expect(cleanup.status == 0, "\(cleanup.stderr)")
        let report = try Self.json(cleanup.stdout)
        #expect(report["checkpointed"] as? Bool == true)
        #expect(report["task_runs_removed"] as? Int == 1, "\(report)")

        let status = try run(binary, ["automation", "status", "--config", "duckling.yaml"], environment: environment, directory: directory)
        #expect(status.status == 0, "\(status.stderr)")
        let tasks = try Self.json(status.stdout)["tasks"] as? [String: [String: Any]]
        #expect(tasks?["cleanup"]?["last_outcome"] as? String == "succeeded", "\(status.stdout)")
        #expect(tasks?["cleanup"]?["last_success"] is String)

        let unknown = try run(binary, ["cleanup", "--db", "nope", "--config", "duckling.yaml"], environment: environment, directory: directory)
        #expect(unknown.status == 1 && unknown.stderr.contains("no database 'nope'"))
    }

    @Test func cleanupRefusesAFileAServerHolds() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "databases:\n  default: {}\n".write(toFile: directory + "/duckling.yaml", atomically: true, encoding: .utf8)
        let server = try ServerProcess(config: "duckling.yaml", directory: directory, environment: ProcessEnvironment.clean())
        try await server.waitUntilHealthy()
        let cleanup = try run(try ducklingBinary(), ["cleanup", "--config", "duckling.yaml"], environment: ProcessEnvironment.clean(), directory: directory)
        _ = server.terminate()
        #expect(cleanup.status == 1, "\(cleanup.stdout)")
        #expect(cleanup.stderr.contains("another Duckling process is using"), "\(cleanup.stderr)")
    }
}
