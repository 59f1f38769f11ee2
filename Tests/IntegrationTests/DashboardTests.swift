import DucklingTestSupport
import Foundation
import Testing

/// The dashboard in headless Chromium (scripts/tests/dashboard.py, selenium with Debian's
/// chromium-driver) against a live server syncing from the test PostgreSQL.
@Suite(.serialized) struct DashboardTests {
    @Test func anOperatorSignsInQueriesSyncsAndVerifiesABackupWithoutTheKeyLeaking() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let table = SyncFixture.uniqueName("dashboard_orders")
        let rows = 1200
        // The dataset reads a view that takes a moment, so the page can see the sync running.
        _ = try TestEnvironment.psql("""
            CREATE TABLE \(table) (id int PRIMARY KEY, customer text, amount numeric(10,2));
            INSERT INTO \(table) SELECT g, 'c' || g % 7, g * 1.25 FROM generate_series(1, \(rows)) g;
            CREATE VIEW \(table)_slow AS SELECT t.* FROM \(table) t CROSS JOIN (SELECT pg_sleep(1.5)) pause;
            """)
        defer { _ = try? TestEnvironment.psql("DROP VIEW IF EXISTS \(table)_slow; DROP TABLE IF EXISTS \(table)") }
        let config = directory + "/duckling.yaml"
        try """
            server: { data_dir: \(directory)/data }
            databases:
              default:
                sources:
                  pg: { url: "\(try TestEnvironment.postgresURL)" }
                datasets:
                  orders: { source: pg, table: \(table)_slow }
              analytics: {}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let key = "dashboard-key-\(UUID().uuidString)"
        let server = try ServerProcess(config: config, directory: directory, environment: ProcessEnvironment.clean(SyncFixture.manual),
                                       key: key, logLevel: "debug")
        defer { _ = server.terminate() }
        try await server.waitUntilHealthy()
        #expect(try await server.request(.POST, "/api/store/sync/orders?wait=true").0 == 200)
        let created = try await server.send(.POST, "/tables", json: ["name": "visits", "columns": [["name": "id", "type": "BIGINT"]]])
        #expect(created.0 == 201 || created.0 == 200, "\(created.1)")

        // DUCKLING_DASHBOARD_SCREENSHOTS=docs/screenshots refreshes the committed ones.
        let root = try repositoryRoot()
        let screenshots = ProcessInfo.processInfo.environment["DUCKLING_DASHBOARD_SCREENSHOTS"].map { root + "/" + $0 } ?? directory + "/screenshots"
        try FileManager.default.createDirectory(atPath: screenshots, withIntermediateDirectories: true)
        let report = try server.runClient("dashboard.py", [
            "--pg-url", try TestEnvironment.postgresURL, "--source-table", table, "--dataset", "orders", "--rows", String(rows),
            "--databases", "default,analytics", "--screenshots", screenshots, "--lake-table", "visits",
        ])
        #expect((report["failures"] as? [String]) == [])
        #expect((report["sync_states"] as? [String])?.contains("syncing") == true)
        #expect(report["rows_after"] as? String == "1,450")
        #expect(((report["screenshots"] as? [String]) ?? []).contains { $0.hasSuffix("dashboard-390x844.png") })
        // Nor does the server's log (at debug level) carry the key.
        let log = (try? String(contentsOfFile: server.errorLog, encoding: .utf8)) ?? ""
        #expect(!log.isEmpty && !log.contains(key), "the server's log carries the key")
    }
}
