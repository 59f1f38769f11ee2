import DucklingTestSupport
import Foundation
import Testing

/// The served OpenAPI document, checked by openapi-spec-validator and fuzzed against a live server
/// (a PostgreSQL dataset, two databases, the lake, lineage) by schemathesis with the admin key.
@Suite(.serialized) struct OpenAPIConformanceTests {
    @Test func schemathesisFindsNoServerErrorAndNoResponseOutsideTheDocument() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let table = SyncFixture.uniqueName("openapi_orders")
        _ = try TestEnvironment.psql("CREATE TABLE \(table) (id int PRIMARY KEY, customer text, amount numeric(10,2)); INSERT INTO \(table) SELECT g, 'c' || g % 7, g * 1.25 FROM generate_series(1, 200) g")
        defer { _ = try? TestEnvironment.psql("DROP TABLE IF EXISTS \(table)") }
        let config = directory + "/duckling.yaml"
        try """
            server: { data_dir: \(directory)/data }
            events: { metrics_interval: 0 }
            databases:
              default:
                sources:
                  pg: { url: "\(try TestEnvironment.postgresURL)" }
                datasets:
                  orders: { source: pg, table: \(table), primary_key: [id] }
              second: {}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let server = try ServerProcess(config: config, directory: directory, environment: ProcessEnvironment.clean(SyncFixture.manual))
        defer { _ = server.terminate() }
        try await server.waitUntilHealthy()
        #expect(try await server.request(.POST, "/api/store/sync/orders?wait=true").0 == 200)
        let base = "http://127.0.0.1:\(server.port)"

        let document = directory + "/openapi.json"
        try (try await server.text("/openapi.json")).write(toFile: document, atomically: true, encoding: .utf8)
        let validated = try run("/usr/bin/env", ["python3", "-m", "openapi_spec_validator", document])
        #expect(validated.status == 0 && validated.stdout.contains("OK"), "\(validated.stdout)\(validated.stderr)")

        // Every operation but the four never-ending event streams (EventStreamTests reads those).
        let result = try run("/usr/bin/env", [
            "schemathesis", "run", base + "/openapi.json", "-H", "Authorization: Bearer \(server.key)",
            "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance",
            "--exclude-path-regex", "^/events/(stream|lineage|jobs|metrics)$",
            "--max-examples", "10", "--request-timeout", "30", "--seed", "1", "--workers", "1", "--no-color",
        ], directory: directory)
        let summary = result.stdout.split(separator: "\n").filter { $0.contains("generated") || $0.contains("Selected") || $0.contains("Tested") }
        FileHandle.standardError.write(Data("schemathesis: \(summary.joined(separator: " | "))\n".utf8))
        #expect(result.status == 0, "schemathesis found problems:\n\(result.stdout.suffix(6000))\n\(result.stderr.suffix(2000))")
        #expect(result.stdout.contains("Tested: 62"), "every operation but the streams is tested: \(summary)")
        #expect(server.isAlive)
    }
}
