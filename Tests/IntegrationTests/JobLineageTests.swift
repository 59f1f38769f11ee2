import DucklingTestSupport
import Foundation
import Testing

/// Duckling's own jobs leave OpenLineage runs and `job_status` events, checked with
/// openlineage-python and the spec's schema (scripts/tests/openlineage-clients.py).
@Suite(.serialized) struct JobLineageTests {
    typealias Object = [String: Any]

    @Test func aSyncABackupARestoreAndAFailingSyncEachLeaveARunOfTheSpec() async throws {
        let table = SyncFixture.uniqueName("lineage")
        try TestEnvironment.psql("""
            CREATE TABLE \(table) (id bigint PRIMARY KEY, customer text, amount numeric(10,2));
            INSERT INTO \(table) SELECT g, 'c' || g, g * 1.5 FROM generate_series(1, 25) g;
            """)
        defer { _ = try? TestEnvironment.psql("DROP TABLE IF EXISTS \(table)") }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try (SyncFixture.configuration(datasets: """
            orders: { source: pg, table: \(table), primary_key: [id] }
            broken: { source: pg, table: \(table)_missing }
            """) + "\nlake: { enabled: false }\n").write(toFile: directory + "/duckling.yaml", atomically: true, encoding: .utf8)
        let server = try ServerProcess(config: "duckling.yaml", directory: directory, environment: ProcessEnvironment.clean(SyncFixture.manual))
        defer { _ = server.terminate() }
        try await server.waitUntilHealthy()

        #expect(try await server.request(.POST, "/api/store/sync/orders?wait=true").0 == 200)
        _ = try await server.request(.POST, "/api/store/sync/broken?wait=true")
        let backup = try await server.request(.POST, "/automation/backup")
        #expect(backup.0 == 200, "\(backup.1)")
        let restore = try await server.request(.POST, "/automation/restore")
        #expect(restore.0 == 200, "\(restore.1)")

        let jobs = ["default.sync.orders", "default.sync.broken", "default.backup", "default.restore"]
        let script = try repositoryRoot() + "/scripts/tests/openlineage-clients.py"
        let result = try run("/usr/bin/env", ["python3", script, "duckling", "--url", "http://127.0.0.1:\(server.port)", "--key", server.key,
                                             "--expect-jobs", jobs.joined(separator: ",")])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? Object, "\(result.stdout)")
        let runs = try #require(report["runs"] as? [String: [Object]])
        func onlyRun(_ job: String) throws -> [Object] {
            let list = try #require(runs[job], "no runs of \(job): \(runs.keys.sorted())")
            try #require(list.count == 1, "\(job): \(list)")
            return try #require(list[0]["events"] as? [Object])
        }
        func types(_ events: [Object]) -> [String] { events.compactMap { $0["eventType"] as? String } }
        func names(_ datasets: Any?) -> [String] {
            ((datasets as? [Object]) ?? []).map { "\($0["namespace"] ?? "")|\($0["name"] ?? "")" }
        }
        let pg = try #require(URLComponents(string: try TestEnvironment.postgresURL))
        let source = "postgres://\(pg.host ?? ""):\(pg.port ?? 5432)\(pg.path)"
        let database = "duckling://duckling/default"

        // The sync: the source table in, the copy out with its schema and the rows it wrote.
        let sync = try onlyRun("default.sync.orders")
        #expect(types(sync) == ["START", "COMPLETE"])
        let complete = try #require(sync.last)
        #expect(names(complete["inputs"]) == ["\(source)|public.\(table)"])
        #expect(names(complete["outputs"]) == ["\(database)|main.orders"])
        let output = try #require((complete["outputs"] as? [Object])?.first)
        let fields = ((output["facets"] as? Object)?["schema"] as? Object)?["fields"] as? [Object]
        #expect(fields?.compactMap { $0["name"] as? String } == ["id", "customer", "amount"], "\(output)")
        #expect(fields?.first?["type"] as? String == "BIGINT")
        let statistics = (output["outputFacets"] as? Object)?["outputStatistics"] as? Object
        #expect(statistics?["rowCount"] as? Int == 25, "\(output)")
        #expect(!result.stdout.contains("duckling-test-secret"), "a source password reached lineage")

        // The failing sync: FAIL with DuckDB's error, no secret in it.
        let broken = try onlyRun("default.sync.broken")
        #expect(types(broken) == ["START", "FAIL"])
        let message = (((broken.last?["run"] as? Object)?["facets"] as? Object)?["errorMessage"] as? Object)?["message"] as? String
        #expect(message?.contains("\(table)_missing") == true, "\(broken)")

        // The backup: the database in, the backup's file out; the restore: that file in, the database out.
        let backupRun = try onlyRun("default.backup")
        #expect(types(backupRun) == ["START", "COMPLETE"])
        #expect(names(backupRun.last?["inputs"]) == ["\(database)|default"])
        let backupFile = names(backupRun.last?["outputs"]).first ?? "none"
        #expect(backupFile.hasPrefix("file|\(directory)/") && backupFile.hasSuffix(".db"), "\(backupFile)")
        let restoreRun = try onlyRun("default.restore")
        #expect(types(restoreRun) == ["START", "COMPLETE"])
        #expect(names(restoreRun.last?["inputs"]) == [backupFile])
        #expect(names(restoreRun.last?["outputs"]) == ["\(database)|default"])
        #expect(report["events_checked"] as? Int ?? 0 >= 8)

        // The same runs as job_status events, each running then ended.
        let statuses = try #require(report["job_status"] as? [Object])
        for (job, ending) in zip(jobs, ["succeeded", "failed", "succeeded", "succeeded"]) {
            let states = statuses.filter { $0["name"] as? String == job }.compactMap { $0["state"] as? String }
            #expect(states == ["running", ending], "\(job): \(states)")
        }
        let listed = try await server.request(.GET, "/jobs")
        let listedNames = Set(((listed.1["jobs"] as? [Object]) ?? []).compactMap { $0["name"] as? String })
        #expect(Set(jobs).isSubset(of: listedNames), "\(listedNames)")
    }
}
