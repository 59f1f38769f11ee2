@testable import DucklingCore
import Foundation
import Testing

/// One memory budget for every DuckDB instance of the process (DESIGN.md §4).
@Suite struct MemoryBudgetTests {
    @Test func sizesReadAsDuckDBWritesThem() {
        #expect(MemorySize.bytes("4GB") == 4_000_000_000)
        #expect(MemorySize.bytes("512 MiB") == 512 << 20)
        #expect(MemorySize.bytes("1.5GiB") == 3 << 29)
        #expect(MemorySize.bytes("100000") == 100_000)
        #expect(MemorySize.bytes("lots") == nil)
        #expect(MemorySize.bytes("4 GQ") == nil)
    }

    @Test func theSharesOfEveryInstanceFitTheBudget() {
        for (databases, sources) in [(1, 0), (1, 1), (2, 2), (5, 3), (20, 20)] {
            var engine = EngineSettings()
            engine.memoryLimit = "8GiB"
            let budget = MemoryBudget(engine: engine, databases: databases, sourceInstances: sources)
            #expect(budget.totalBytes == 8 << 30)
            // Each database may verify or restore one backup at a time: one short-lived instance each.
            let asked = UInt64(databases) * (budget.databaseBytes + budget.transientBytes) + UInt64(sources) * budget.sourceBytes
            #expect(asked <= budget.totalBytes, "\(databases) databases and \(sources) source instances ask for \(asked) of \(budget.totalBytes)")
            #expect(budget.databaseBytes >= 3 * budget.sourceBytes)
        }
    }

    @Test func withoutALimitItIsAShareOfPhysicalMemory() {
        var engine = EngineSettings()
        engine.maxMemoryPercentage = 60
        let budget = MemoryBudget(engine: engine, databases: 2, sourceInstances: 2, physicalMemory: 10 << 30)
        #expect(budget.totalBytes == (10 << 30) / 100 * 60)
        // Two databases with datasets once asked for 2 × 60% + 2 × 20% of RAM; now for 60% in all.
        #expect(2 * (budget.databaseBytes + budget.transientBytes) + 2 * budget.sourceBytes <= budget.totalBytes)
    }

    @Test func aLimitTooSmallForEveryInstanceIsRefusedAtStart() throws {
        let yaml = """
            duckdb: { memory_limit: 512MiB }
            databases:
              a: { sources: { s: "sqlite:a.db" }, datasets: { d: { source: s, table: t } } }
              b: { sources: { s: "sqlite:b.db" }, datasets: { d: { source: s, table: t } } }
            """
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("budget-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try yaml.write(to: directory.appendingPathComponent("duckling.yaml"), atomically: true, encoding: .utf8)
        let loader = ConfigurationLoader(environment: [:], workingDirectory: directory.path)
        let error = #expect(throws: ConfigurationError.self) { try loader.load(file: "duckling.yaml") }
        #expect(error?.description.contains("duckdb.memory_limit: is shared by every DuckDB instance and too small") == true, "\(String(describing: error))")
        // Enough for the shares of 64 MiB of three databases and the lake: accepted.
        try yaml.replacingOccurrences(of: "512MiB", with: "1200MiB").write(to: directory.appendingPathComponent("duckling.yaml"), atomically: true, encoding: .utf8)
        #expect(throws: Never.self) { try loader.load(file: "duckling.yaml") }
    }
}
