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
        let cleanup = try await server.request(.POST, "/automation/cleanup")
        #expect(cleanup.0 == 200, "\(cleanup.1)")

        let jobs = ["default.sync.orders", "default.sync.broken", "default.backup", "default.restore", "default.cleanup"]
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
        let cleanupRun = try onlyRun("default.cleanup")
        #expect(types(cleanupRun) == ["START", "COMPLETE"], "\(cleanupRun)")
        #expect(names(cleanupRun.last?["outputs"]) == ["\(database)|default"])
        #expect(report["events_checked"] as? Int ?? 0 >= 10)

        // The same runs as job_status events, each running then ended.
        let statuses = try #require(report["job_status"] as? [Object])
        for (job, ending) in zip(jobs, ["succeeded", "failed", "succeeded", "succeeded", "succeeded"]) {
            let states = statuses.filter { $0["name"] as? String == job }.compactMap { $0["state"] as? String }
            #expect(states == ["running", ending], "\(job): \(states)")
        }
        let listed = try await server.request(.GET, "/jobs")
        let listedNames = Set(((listed.1["jobs"] as? [Object]) ?? []).compactMap { $0["name"] as? String })
        #expect(Set(jobs).isSubset(of: listedNames), "\(listedNames)")
    }
}

/// Forwarding to `OPENLINEAGE_URL`: a second `duckling serve` is the receiver.
@Suite(.serialized) struct LineageForwardingTests {
    typealias Object = [String: Any]

    /// A healthy server forwarding to `url` (1 s backoff, 2 s requests), with job `export` defined.
    static func sender(in directory: String, forwardingTo url: String, extra: String = "") async throws -> ServerProcess {
        let config = try ServerProcess.writeConfiguration(in: directory, extra: "lineage:\n  max_backoff: 1\n  timeout: 2\n\(extra)")
        let server = try ServerProcess(config: config, directory: directory, environment: ProcessEnvironment.clean(["OPENLINEAGE_URL": url]))
        do {
            try await server.waitUntilHealthy()
            #expect(try await server.send(.POST, "/jobs", json: ["name": "export"]).0 == 201)
        } catch {
            _ = server.terminate()
            throw error
        }
        return server
    }

    /// The value of one sample of `/metrics`, or nil.
    static func metric(_ line: String, in text: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(line + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    /// Runs of job `job` on `server` (START then COMPLETE each); their ids.
    static func runs(_ count: Int, of job: String, on server: ServerProcess) async throws -> [String] {
        var ids: [String] = []
        for _ in 0..<count {
            let started = try await server.send(.POST, "/jobs/\(job)/runs", json: [:] as [String: String])
            let id = try #require(started.1["run_id"] as? String, "\(started)")
            #expect(try await server.send(.PUT, "/jobs/\(job)/runs/\(id)/complete", json: ["success": true]).0 == 200)
            ids.append(id)
        }
        return ids
    }

    /// The receiver's runs of `job`: run id → event types in order.
    static func received(_ job: String, on server: ServerProcess) async throws -> [String: [String]] {
        let page = try await server.request(.GET, "/jobs/\(job)/runs?limit=1000")
        var runs: [String: [String]] = [:]
        for run in (page.1["runs"] as? [Object]) ?? [] {
            guard let id = run["run_id"] as? String else { continue }
            let detail = try await server.request(.GET, "/jobs/\(job)/runs/\(id)")
            runs[id] = ((detail.1["events"] as? [Object]) ?? []).compactMap { $0["eventType"] as? String }
        }
        return runs
    }

    @Test func everyEventArrivesOnceThoughTheReceiverWasDownAndTheSenderRestarted() async throws {
        let receiverDirectory = try temporaryDirectory()
        let senderDirectory = try temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: receiverDirectory)
            try? FileManager.default.removeItem(atPath: senderDirectory)
        }
        let receiverConfig = try ServerProcess.writeConfiguration(in: receiverDirectory)
        // A key of its own: while it is down, no other server could take its events.
        let receiverKey = "receiver-\(UUID().uuidString)"
        var receiver = try ServerProcess(config: receiverConfig, directory: receiverDirectory, environment: ProcessEnvironment.clean(), key: receiverKey)
        try await receiver.waitUntilHealthy()
        let senderConfig = try ServerProcess.writeConfiguration(in: senderDirectory, extra: "lineage:\n  max_backoff: 1\n  timeout: 2\n")
        let environment = ProcessEnvironment.clean(["OPENLINEAGE_URL": "http://127.0.0.1:\(receiver.port)", "OPENLINEAGE_API_KEY": receiverKey])
        var sender = try ServerProcess(config: senderConfig, directory: senderDirectory, environment: environment)
        try await sender.waitUntilHealthy()
        #expect(try await sender.send(.POST, "/jobs", json: ["name": "export", "namespace": "ops"]).0 == 201)

        // Up: forwarded as they happen.
        var expected = try await Self.runs(2, of: "export", on: sender)
        try await Self.waitFor(Set(expected), of: "export", on: receiver)

        // The receiver down; the sender queues, is restarted, and queues more.
        #expect(receiver.terminate() == 0)
        expected += try await Self.runs(3, of: "export", on: sender)
        #expect(sender.terminate() == 0)
        sender = try ServerProcess(config: senderConfig, directory: senderDirectory, environment: environment)
        defer { _ = sender.terminate() }
        try await sender.waitUntilHealthy()
        expected += try await Self.runs(2, of: "export", on: sender)
        let metrics = try await sender.waitForMetrics(["duckling_lineage_forward_queued 10"])
        #expect(metrics.contains("duckling_lineage_forward_queued 10\n"), "\(metrics.split(separator: "\n").filter { $0.contains("lineage") })")

        // Back on its port: every event arrives, once each, in order.
        receiver = try ServerProcess(config: receiverConfig, directory: receiverDirectory, environment: ProcessEnvironment.clean(),
                                     port: receiver.port, key: receiverKey)
        defer { _ = receiver.terminate() }
        try await receiver.waitUntilHealthy()
        let runs = try await Self.waitFor(Set(expected), of: "export", on: receiver)
        #expect(runs.count == 7)
        #expect(runs.values.allSatisfy { $0 == ["START", "COMPLETE"] }, "\(runs)")
        let after = try await sender.waitForMetrics(["duckling_lineage_forward_queued 0", "duckling_lineage_forward_events_total{outcome=\"sent\"} 10"])
        #expect(after.contains("duckling_lineage_forward_queued 0\n"))
        #expect(after.contains("duckling_lineage_forward_events_total{outcome=\"sent\"} 10\n"), "the restarted sender sends the 10 queued")
        #expect(after.contains("duckling_lineage_forward_events_total{outcome=\"dropped\"} 0\n"))
    }

    @Test func pastItsBoundTheQueueDropsNewEventsAndCountsThem() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Nothing listens on port 9 of loopback: every attempt fails, and the queue fills.
        let server = try await Self.sender(in: directory, forwardingTo: "http://127.0.0.1:9", extra: "  queue_size: 3\n")
        defer { _ = server.terminate() }
        _ = try await Self.runs(3, of: "export", on: server)
        let metrics = try await server.waitForMetrics(["duckling_lineage_forward_queued 3"])
        #expect(metrics.contains("duckling_lineage_forward_queued 3\n"))
        #expect(metrics.contains("duckling_lineage_forward_events_total{outcome=\"dropped\"} 3\n"), "\(metrics.split(separator: "\n").filter { $0.contains("lineage") })")
        // Every event is still stored here.
        let runs = try await Self.received("export", on: server)
        #expect(runs.count == 3 && runs.values.allSatisfy { $0 == ["START", "COMPLETE"] })
    }

    @Test func aReceiverThatRedirectsIsRetriedNotTakenForDelivered() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A receiver that redirects every POST and answers 200 to a GET: a client following the
        // redirect would turn the POST into a GET without its event and count it delivered.
        let port = try ServerProcess.freePort()
        let receiver = Process()
        receiver.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        receiver.arguments = ["python3", "-c", """
            import http.server, sys
            class H(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    self.rfile.read(int(self.headers.get("Content-Length", 0)))
                    open(sys.argv[1].replace("gets.txt", "posts.txt"), "a").write("POST " + self.path + "\\n")
                    self.send_response(302); self.send_header("Location", "/elsewhere"); self.send_header("Content-Length", "0"); self.end_headers()
                def do_GET(self):
                    open(sys.argv[1], "a").write("GET " + self.path + "\\n")
                    self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
                def log_message(self, *a): pass
            http.server.HTTPServer(("127.0.0.1", \(port)), H).serve_forever()
            """, directory + "/gets.txt"]
        receiver.standardOutput = FileHandle.nullDevice
        try receiver.run()
        defer { kill(receiver.processIdentifier, SIGKILL) }
        let server = try await Self.sender(in: directory, forwardingTo: "http://127.0.0.1:\(port)")
        defer { _ = server.terminate() }
        _ = try await Self.runs(1, of: "export", on: server)
        // Waits until the head event has been tried and retried (each attempt met the redirect).
        var metrics = ""
        for _ in 0..<100 {
            metrics = try await server.text("/metrics")
            if (Self.metric("duckling_lineage_forward_failed_attempts_total", in: metrics) ?? 0) >= 2 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect((Self.metric("duckling_lineage_forward_failed_attempts_total", in: metrics) ?? 0) >= 2, "\(metrics.split(separator: "\n").filter { $0.contains("lineage") })")
        // And it was the redirect that failed them, not a receiver that never listened.
        let posts = (try? String(contentsOfFile: directory + "/posts.txt", encoding: .utf8)) ?? ""
        #expect(posts.split(separator: "\n").count >= 2, "the receiver saw \(posts.split(separator: "\n").count) POSTs")
        #expect(metrics.contains("duckling_lineage_forward_queued 2\n"), "\(metrics.split(separator: "\n").filter { $0.contains("lineage") })")
        #expect(metrics.contains("duckling_lineage_forward_events_total{outcome=\"sent\"} 0\n"))
        let seen = (try? String(contentsOfFile: directory + "/gets.txt", encoding: .utf8)) ?? ""
        #expect(seen.isEmpty, "the forwarder followed a redirect: \(seen)")
    }

    @discardableResult
    static func waitFor(_ ids: Set<String>, of job: String, on server: ServerProcess) async throws -> [String: [String]] {
        var runs: [String: [String]] = [:]
        for _ in 0..<150 {
            runs = (try? await received(job, on: server)) ?? [:]
            if Set(runs.keys) == ids, runs.values.allSatisfy({ $0.count == 2 }) { return runs }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("the receiver has \(runs) of \(ids.count) runs")
        return runs
    }
}
