import DuckDBKit
@testable import DucklingCore
import DucklingTestSupport
import Foundation
import Testing

/// Every instance the process opens takes its memory_limit from the one budget, as DuckDB reports it.
@Suite(.serialized) struct MemoryBudgetIntegrationTests {
    @Test func everyInstanceTogetherStaysWithinTheBudget() async throws {
        let table = SyncFixture.uniqueName("budget")
        try TestEnvironment.psql("CREATE TABLE \(table) (id int PRIMARY KEY); INSERT INTO \(table) VALUES (1)")
        defer { _ = try? TestEnvironment.psql("DROP TABLE \(table)") }
        let url = try TestEnvironment.postgresURL
        let yaml = ["default", "second"].map { id in
            """
              \(id):
                sources: { pg: { url: "\(url)" } }
                datasets: { copied: { source: pg, table: \(table) } }
            """
        }.joined(separator: "\n")
        try await TestServer.run(yaml: "databases:\n" + yaml, environment: SyncFixture.manual.merging(["DUCKDB_MEMORY_LIMIT": "3GiB"]) { $1 }) { server in
            var limits: [UInt64] = []
            for id in ["default", "second"] {
                #expect(try await SyncFixture.sync(server, "copied", db: id)["status"] as? String == "succeeded")
                let database = try #require(server.services.registry.database(id))
                let main = try await database.withReader { connection in
                    try await connection.run { try $0.query("SELECT current_setting('memory_limit')").scalar()?.text }
                }
                let sources = try #require(server.services.syncScheduler.engine(for: id)?.sourceDatabase)
                let source = try sources.connect().query("SELECT current_setting('memory_limit')").scalar()?.text
                limits += [try #require(main.flatMap(MemorySize.bytes)), try #require(source.flatMap(MemorySize.bytes))]
            }
            let budget = server.services.registry.memory
            #expect(budget.totalBytes == 3 << 30)
            // What DuckDB enforces (it rounds to a tenth of a unit), plus the verification share.
            let asked = limits.reduce(0, +) + budget.transientBytes
            #expect(asked <= budget.totalBytes + (100 << 20), "the instances ask for \(asked >> 20) MiB of \(budget.totalBytes >> 20) MiB: \(limits)")
            let health = try await server.request(.GET, "/api/health")
            let memory = try #require(try health.json["memory"] as? [String: Any])
            #expect(memory["budget_bytes"] as? Int == 3 << 30)
            #expect(memory["database_bytes"] as? Int == Int(budget.databaseBytes))
        }
    }
}
