import DucklingTestSupport
import Foundation
import Testing

/// Lineage with a real OpenLineage client (`openlineage-python`, from
/// scripts/tests/openlineage-clients.py) against a `duckling serve` process.
@Suite(.serialized) struct LineageTests {
    func scenario(_ name: String) async throws -> [String: Any] {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try ServerProcess.writeConfiguration(in: directory)
        let server = try ServerProcess(config: config, directory: directory, environment: ProcessEnvironment.clean())
        defer { _ = server.terminate() }
        try await server.waitUntilHealthy()
        return try server.runClient("openlineage-clients.py", [name])
    }

    @Test func anOpenLineageClientsEventsAreStoredListedAndGraphed() async throws {
        let report = try await scenario("client")
        #expect((report["refused"] as? [[String]])?.count == 6, "\(report)")
        #expect((report["graph_nodes"] as? [String])?.count == 3, "\(report)")
    }

    @Test func theSeedsJobEndpointsWriteEventsOfTheSpec() async throws {
        let report = try await scenario("jobs")
        #expect(report["events_checked"] as? Int == 4, "\(report)")
    }

    @Test func eventsSurviveARestart() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try ServerProcess.writeConfiguration(in: directory)
        var server = try ServerProcess(config: config, directory: directory, environment: ProcessEnvironment.clean())
        try await server.waitUntilHealthy()
        #expect(try await server.send(.POST, "/jobs", json: ["name": "kept", "namespace": "ops"]).0 == 201)
        let started = try await server.send(.POST, "/jobs/kept/runs", json: [:] as [String: String])
        let runID = try #require(started.1["run_id"] as? String)
        #expect(server.terminate() == 0)
        server = try ServerProcess(config: config, directory: directory, environment: ProcessEnvironment.clean())
        defer { _ = server.terminate() }
        try await server.waitUntilHealthy()
        let run = try await server.request(.GET, "/jobs/kept/runs/\(runID)")
        #expect(run.0 == 200 && run.1["state"] as? String == "START", "\(run.1)")
        #expect((try await server.request(.GET, "/jobs").1["jobs"] as? [[String: Any]])?.first?["name"] as? String == "kept")
    }
}
