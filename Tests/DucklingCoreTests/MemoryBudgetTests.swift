@testable import DucklingCore
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
            let asked = UInt64(databases) * budget.databaseBytes + UInt64(sources) * budget.sourceBytes + budget.transientBytes
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
        #expect(2 * budget.databaseBytes + 2 * budget.sourceBytes + budget.transientBytes <= budget.totalBytes)
    }
}
