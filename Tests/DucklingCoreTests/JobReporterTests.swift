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
        let reporter = JobReporter(lineage: nil, bus: bus, namespace: "ops", logger: Logger(label: "test"))
        let subscription = try bus.subscribe(kinds: [.jobStatus], lastEventID: nil, answersPings: false) { _ in }.subscription
        struct Boom: Error {}
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
        #expect(frames[1].contains("\"state\":\"failed\"") && frames[1].contains("Boom"))
        #expect(frames[3].contains("\"state\":\"succeeded\"") && frames[3].contains("\"bytes\":42") && frames[3].contains("\"namespace\":\"ops\""))
    }
}
