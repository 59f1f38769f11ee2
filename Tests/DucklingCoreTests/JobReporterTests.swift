@testable import DucklingCore
import Foundation
import Logging
import Testing

/// How Duckling names its jobs' datasets, and what a run reports to the bus.
struct JobReporterTests {
    @Test func sourceNamespacesNameHostPortAndDatabaseAndNeverTheCredentials() {
        func namespace(_ url: String) -> String {
            let source = SourceSettings(name: "s", kind: SourceSettings.kind(of: url) ?? .postgres, url: Secret(url))
            return JobReporter.sourceNamespace(source)
        }
        #expect(namespace("postgresql://reader:s3cret@db.internal:6543/shop?sslmode=require") == "postgres://db.internal:6543/shop")
        #expect(namespace("postgres://reader@db/shop") == "postgres://db:5432/shop")
        #expect(namespace("mysql://root:pw@127.0.0.1/crm") == "mysql://127.0.0.1:3306/crm")
        #expect(namespace("sqlite:/var/data/app.db") == "sqlite:///var/data/app.db")
    }

    @Test func aRunPublishesItsStartAndItsEndAsJobStatus() async throws {
        let bus = EventBus(settings: EventSettings(), logger: Logger(label: "test"))
        let reporter = JobReporter(lineage: nil, bus: bus, namespace: "ops", redactor: SecretRedactor(secrets: ["hunter2-secret"]),
                                   logger: Logger(label: "test"))
        let subscription = try bus.subscribe(kinds: [.jobStatus], lastEventID: nil, answersPings: false) { _ in }.subscription
        struct Boom: Error, CustomStringConvertible { var description: String { "Boom: the password hunter2-secret was refused" } }
        await #expect(throws: Boom.self) {
            try await reporter.run(.backup, name: "default.backup", database: "default") { () async throws -> Int in throw Boom() }
        }
        _ = try await reporter.run(.cleanup, name: "default.cleanup", database: "default", ending: { .init(bytes: $0) }) { Int64(42) }
        let frames = (await subscription.next() ?? []).compactMap { item -> String? in
            guard case .event(let event) = item else { return nil }
            return String(decoding: event.frame, as: UTF8.self)
        }
        #expect(frames.count == 4)
        #expect(frames[0].contains("\"name\":\"default.backup\"") && frames[0].contains("\"state\":\"running\""))
        #expect(frames[1].contains("\"state\":\"failed\"") && frames[1].contains("Boom: the password ••••••"), "\(frames[1])")
        #expect(!frames.joined().contains("hunter2-secret"))
        #expect(frames[3].contains("\"state\":\"succeeded\"") && frames[3].contains("\"bytes\":42") && frames[3].contains("\"namespace\":\"ops\""))
    }

    @Test func aCancelledJobStillGetsItsAbortStoredAndARunCutOffByAStopIsEndedOnOpen() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("reporter-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logger = Logger(label: "test")
        var store = try LineageStore(path: directory + "/lineage.db", logger: logger)
        var lineage = LineageService(store: store, bus: nil, version: "test", logger: logger)
        try await lineage.open()
        let reporter = JobReporter(lineage: lineage, bus: nil, namespace: "duckling", redactor: SecretRedactor(secrets: []), logger: logger)
        // A job whose task is cancelled while it runs: its ABORT is stored all the same.
        let job = Task {
            try await reporter.run(.backup, name: "default.backup", database: "default") { () async throws -> Int in
                try await Task.sleep(for: .seconds(30))
                return 1
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        job.cancel()
        _ = await job.result
        let aborted = try #require(try await store.runsJSON(job: "default.backup", namespace: "duckling", limit: 10, offset: 0).json.data(using: .utf8))
        let runs = try #require(try JSONSerialization.jsonObject(with: aborted) as? [[String: Any]])
        #expect(runs.count == 1 && runs.first?["state"] as? String == "ABORT", "\(runs)")

        // A START whose process stopped before its end: the next open ends it with ABORT.
        let cutOff = await reporter.start(.sync, name: "default.sync.orders", database: "default")
        // The same kind of START forwarded by another Duckling is that server's run: left open.
        let forwardedID = UUID()
        try await lineage.record(try lineage.event(.start, runID: forwardedID, job: .init(namespace: "duckling", name: "other.sync.orders"),
                                                   jobType: "sync"))
        await store.close()
        store = try LineageStore(path: directory + "/lineage.db", logger: logger)
        lineage = LineageService(store: store, bus: nil, version: "test", logger: logger)
        try await lineage.open()
        let reopened = try #require(try await store.runJSON(id: cutOff.id.uuidString.lowercased(), job: "default.sync.orders")?.data(using: .utf8))
        let run = try #require(try JSONSerialization.jsonObject(with: reopened) as? [String: Any])
        #expect(run["state"] as? String == "ABORT", "\(run)")
        let events = run["events"] as? [[String: Any]] ?? []
        let facets = (events.last?["run"] as? [String: Any])?["facets"] as? [String: Any]
        #expect(((facets?["errorMessage"] as? [String: Any])?["message"] as? String)?.hasPrefix("interrupted") == true, "\(events)")
        let forwarded = try #require(try await store.runJSON(id: forwardedID.uuidString.lowercased(), job: "other.sync.orders")?.data(using: .utf8))
        #expect((try JSONSerialization.jsonObject(with: forwarded) as? [String: Any])?["state"] as? String == "START")
        await store.close()
    }
}
