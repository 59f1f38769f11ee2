import DuckDBKit
import DucklingCore
import DucklingTestSupport
import Foundation
import Testing

/// `duckling backup restore` killed (SIGKILL, through a failpoint) at every step of the swap: the
/// next start serves the old data or the new, complete, and never an empty database.
@Suite(.serialized) struct RestoreCrashTests {
    /// The old data: 1500 rows. The backup (the new data): 1000 rows.
    private func prepare() throws -> (directory: String, config: String) {
        let directory = try temporaryDirectory()
        let database = directory + "/live.db"
        do {
            let connection = try Database(path: database).connect()
            try connection.execute("CREATE TABLE t AS SELECT range AS id FROM range(1000)")
        }
        let config = directory + "/duckling.yaml"
        try """
            server: { data_dir: \(directory) }
            databases:
              default:
                path: \(database)
                backup: { local_dir: \(directory)/backups }
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let created = try duckling(["backup", "create", "--config", config])
        guard created.status == 0 else { throw TestFailure("backup create failed: \(created.stderr)") }
        do {
            let connection = try Database(path: database).connect()
            try connection.execute("INSERT INTO t SELECT range FROM range(1000, 1500)")
        }
        return (directory, config)
    }

    private func duckling(_ arguments: [String], failpoints: String? = nil) throws -> ProcessResult {
        try run(try ducklingBinary(), arguments, environment: ProcessEnvironment.clean(failpoints.map { ["DUCKLING_FAILPOINTS": $0] } ?? [:]))
    }

    /// `count(*), sum(id)` of the served table, through `duckling query`.
    private func contents(_ config: String) throws -> String {
        let result = try duckling(["query", "--config", config, "--format", "csv", "SELECT count(*) AS n, sum(id) AS total FROM t"])
        guard result.status == 0 else { throw TestFailure("query failed: \(result.stderr)") }
        return result.stdout.split(separator: "\n").dropFirst().joined()
    }

    private static let old = "1500,1124250"
    private static let new = "1000,499500"

    @Test(arguments: [
        ("restore.swap.before-move-aside", old), ("restore.swap.after-move-aside", old), ("restore.swap.after-move-in", old),
        ("restore.after-reopen", old), ("restore.swap.after-discard-old", new), ("restore.before-online", new),
    ])
    func aRestoreKilledMidSwapLeavesTheOldOrTheNewDataComplete(failpoint: String, expected: String) throws {
        let (directory, config) = try prepare()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let killed = try duckling(["backup", "restore", "--config", config], failpoints: "\(failpoint)=kill")
        #expect(killed.status == 128 + SIGKILL, "the restore was not killed at \(failpoint): \(killed.status) \(killed.stderr)")
        // The next read-write start finishes the swap's undoing; then the data is whole.
        let started = try duckling(["backup", "list", "--config", config])
        #expect(started.status == 0, "\(started.stderr)")
        #expect(try contents(config) == expected, "after a kill at \(failpoint)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".pre-restore") }
        #expect(leftovers.isEmpty, "\(leftovers)")
        // And a restore now goes through.
        let again = try duckling(["backup", "restore", "--config", config])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try contents(config) == Self.new)
    }

    @Test func aRecoveryKilledHalfwayIsFinishedByTheNextOpen() throws {
        let (directory, config) = try prepare()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try duckling(["backup", "restore", "--config", config], failpoints: "restore.swap.after-move-in=kill").status == 128 + SIGKILL)
        // The recovery itself dies between removing the new file's WAL and the new file.
        let recovering = try duckling(["backup", "list", "--config", config], failpoints: "restore.recover.after-remove-new-wal=kill")
        #expect(recovering.status == 128 + SIGKILL, "\(recovering.stderr)")
        #expect(try duckling(["backup", "list", "--config", config]).status == 0)
        #expect(try contents(config) == Self.old)
    }

    @Test func anotherProcessCannotTouchADatabaseMidRestore() async throws {
        let (directory, config) = try prepare()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let yaml = try String(contentsOfFile: config, encoding: .utf8)
        let database = directory + "/live.db"
        try await TestServer.run(yaml: yaml) { server in
            Failpoints.enable("restore.swap.after-move-aside", .pause, scope: database)
            defer { Failpoints.disable("restore.swap.after-move-aside") }
            let restore = Task { try await server.request(.POST, "/automation/restore") }
            await Failpoints.waitUntilHit("restore.swap.after-move-aside")
            // No file is at the path now; a second process must not "recover" it under the server.
            let other = try duckling(["backup", "list", "--config", config])
            #expect(other.status != 0)
            #expect(other.stderr.contains("another Duckling process"), "\(other.stderr)")
            #expect(FileManager.default.fileExists(atPath: database + ".pre-restore"), "the other process moved the old file back")
            Failpoints.resume("restore.swap.after-move-aside")
            let restored = try await restore.value
            #expect(restored.status == 200, "\(restored.text)")
            #expect(try await server.rows("SELECT count(*) FROM t").first?.first as? String == "1000")
        }
        #expect(try contents(config) == Self.new)
    }

    @Test func aReadOnlyOpenRefusesAnInterruptedSwapInsteadOfCreatingOrMissingTheFile() throws {
        let (directory, config) = try prepare()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let killed = try duckling(["backup", "restore", "--config", config], failpoints: "restore.swap.after-move-aside=kill")
        #expect(killed.status == 128 + SIGKILL)
        #expect(!FileManager.default.fileExists(atPath: directory + "/live.db"), "the kill came when no file was at the path")
        let refused = try duckling(["query", "--config", config, "SELECT count(*) FROM t"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("interrupted"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/live.db"), "a read-only open created a file")
        #expect(try duckling(["backup", "list", "--config", config]).status == 0)
        #expect(try contents(config) == Self.old)
    }
}
