import DuckDBKit
@testable import DucklingCore
import DucklingTestSupport
import Foundation

/// Helpers for tests that sync from the test PostgreSQL.
enum SyncFixture {
    /// A name no other test uses, for tables in the shared test database.
    static func uniqueName(_ stem: String) -> String {
        "\(stem)_\(UInt32.random(in: 0...UInt32.max))"
    }

    /// A duckling.yaml with one PostgreSQL source `pg` and the given datasets (YAML, two-space indented).
    static func configuration(datasets: String, workers: Int = 4) throws -> String {
        let body = datasets.split(separator: "\n", omittingEmptySubsequences: false).map { "      " + $0 }.joined(separator: "\n")
        return """
            duckdb: { sync_workers: \(workers) }
            databases:
              default:
                sources:
                  pg: { url: "\(try TestEnvironment.postgresURL)" }
                datasets:
            \(body)
            """
    }

    /// Scheduled syncs off: tests start every run themselves.
    static let manual = ["AUTO_START_SYNC": "false"]

    /// Rows of `sql` on the served copy, read in-process as exact DuckDB values.
    static func copyRows(_ server: TestServer, _ sql: String) async throws -> [[DuckDBValue]] {
        guard let database = server.services.registry.database("default") else { throw TestFailure("no default database") }
        return try await database.withReader { connection in
            try await connection.run { try $0.query(sql).rows() }
        }
    }

    /// Rows of `sql` read from PostgreSQL through the same pinned scanner, attached as `pg`.
    static func sourceRows(_ sql: String) throws -> [[DuckDBValue]] {
        let connection = try Database(path: nil, configuration: DatabaseConfiguration(extensionDirectory: Database.installedExtensionDirectory)).connect()
        try connection.execute("LOAD postgres")
        try connection.execute("ATTACH \(SQL.literal(try TestEnvironment.postgresURL)) AS pg (TYPE postgres, READ_ONLY)")
        return try connection.query(sql).rows()
    }

    /// Runs a sync through the API and waits for it; returns the run's result object.
    static func sync(_ server: TestServer, _ dataset: String, full: Bool = false, db: String = "default") async throws -> [String: Any] {
        let reply = try await server.request(.POST, "/api/store/sync/\(dataset)?wait=true&db=\(db)\(full ? "&full=true" : "")")
        guard let result = try reply.json["result"] as? [String: Any] else { throw TestFailure("no result: \(reply.text)") }
        return result
    }

    /// The status of `dataset` from `GET /api/store/status`.
    static func status(_ server: TestServer, _ dataset: String) async throws -> [String: Any] {
        let reply = try await server.request(.GET, "/api/store/status")
        guard let datasets = try reply.json["datasets"] as? [String: Any], let status = datasets[dataset] as? [String: Any] else {
            throw TestFailure("no status for \(dataset): \(reply.text)")
        }
        return status
    }

    static func count(_ server: TestServer, _ table: String) async throws -> Int64 {
        guard case .bigint(let count) = try await copyRows(server, "SELECT count(*) FROM \(table)").first?.first else { return -1 }
        return count
    }
}
