public import Foundation

/// One memory budget for every DuckDB instance the process opens (`memory_limit`, else
/// `DUCKDB_MAX_MEMORY_PERCENTAGE` of physical memory), divided among them so that together they
/// never ask for more: each served database gets three shares and one more for its short-lived
/// instances (it verifies or restores one backup at a time), and each source instance (a database
/// with datasets) one. DuckDB cannot share one buffer pool between instances, so each gets a fixed
/// part. A budget too small to give every instance ``minimumBytes`` is a configuration error.
public struct MemoryBudget: Sendable, Equatable {
    /// The whole budget.
    public let totalBytes: UInt64
    /// The `memory_limit` of each served database's instance.
    public let databaseBytes: UInt64
    /// The `memory_limit` of each source instance (reading a database's sources for sync).
    public let sourceBytes: UInt64
    /// The `memory_limit` of a short-lived instance (verifying a backup copy, a restore's check).
    public let transientBytes: UInt64

    /// The least an instance should get (DuckDB needs some room); a `memory_limit` that gives less is refused at start.
    static let minimumBytes: UInt64 = 64 << 20

    public init(engine: EngineSettings, databases: Int, sourceInstances: Int,
                physicalMemory: UInt64 = ProcessInfo.processInfo.physicalMemory) {
        let total = engine.memoryLimit.flatMap(MemorySize.bytes)
            ?? physicalMemory / 100 * UInt64(engine.maxMemoryPercentage)
        let share = total / Self.shares(databases: databases, sourceInstances: sourceInstances)
        self.totalBytes = total
        self.databaseBytes = share * 3
        self.sourceBytes = share
        self.transientBytes = share
    }

    private static func shares(databases: Int, sourceInstances: Int) -> UInt64 {
        UInt64(4 * max(1, databases) + max(0, sourceInstances))
    }

    /// The smallest budget that gives every instance at least ``minimumBytes``.
    static func minimumTotal(databases: Int, sourceInstances: Int) -> UInt64 {
        minimumBytes * shares(databases: databases, sourceInstances: sourceInstances)
    }

    /// Whether every instance gets at least ``minimumBytes``.
    public var isSufficient: Bool { sourceBytes >= Self.minimumBytes }

    public init(configuration: DucklingConfiguration, physicalMemory: UInt64 = ProcessInfo.processInfo.physicalMemory) {
        // The lake's instance is served like a database.
        self.init(engine: configuration.engine, databases: configuration.databases.count + (configuration.lake.enabled ? 1 : 0),
                  sourceInstances: configuration.databases.filter { !$0.datasets.isEmpty }.count, physicalMemory: physicalMemory)
    }

    var databaseLimit: String { MemorySize.duckDBText(databaseBytes) }
    var sourceLimit: String { MemorySize.duckDBText(sourceBytes) }
    var transientLimit: String { MemorySize.duckDBText(transientBytes) }
}
