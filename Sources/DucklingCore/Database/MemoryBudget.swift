public import Foundation

/// One memory budget for every DuckDB instance the process opens (`memory_limit`, else
/// `DUCKDB_MAX_MEMORY_PERCENTAGE` of physical memory), divided among them so that together they
/// never ask for more: each served database gets four shares, each source instance (a database
/// with datasets) one, and one share is kept for short-lived instances (backup verification).
/// DuckDB cannot share one buffer pool between instances, so each gets a fixed part.
public struct MemoryBudget: Sendable, Equatable {
    /// The whole budget.
    public let totalBytes: UInt64
    /// The `memory_limit` of each served database's instance.
    public let databaseBytes: UInt64
    /// The `memory_limit` of each source instance (reading a database's sources for sync).
    public let sourceBytes: UInt64
    /// The `memory_limit` of a short-lived instance (verifying a backup copy, a restore's check).
    public let transientBytes: UInt64

    /// No instance gets less than this, even when the budget is smaller (DuckDB needs some room).
    static let minimumBytes: UInt64 = 64 << 20

    public init(engine: EngineSettings, databases: Int, sourceInstances: Int,
                physicalMemory: UInt64 = ProcessInfo.processInfo.physicalMemory) {
        let total = engine.memoryLimit.flatMap(MemorySize.bytes)
            ?? physicalMemory / 100 * UInt64(engine.maxMemoryPercentage)
        let shares = UInt64(4 * max(1, databases) + max(0, sourceInstances) + 1)
        let share = total / shares
        self.totalBytes = total
        self.databaseBytes = max(Self.minimumBytes, share * 4)
        self.sourceBytes = max(Self.minimumBytes, share)
        self.transientBytes = max(Self.minimumBytes, share)
    }

    public init(configuration: DucklingConfiguration, physicalMemory: UInt64 = ProcessInfo.processInfo.physicalMemory) {
        self.init(engine: configuration.engine, databases: configuration.databases.count,
                  sourceInstances: configuration.databases.filter { !$0.datasets.isEmpty }.count, physicalMemory: physicalMemory)
    }

    var databaseLimit: String { MemorySize.duckDBText(databaseBytes) }
    var sourceLimit: String { MemorySize.duckDBText(sourceBytes) }
    var transientLimit: String { MemorySize.duckDBText(transientBytes) }
}
