/// DuckDB engine settings shared by every database instance, and how syncs run.
public struct EngineSettings: Sendable {
    /// The memory budget of every DuckDB instance together, e.g. "4GB" (see ``MemoryBudget``).
    /// When nil, `maxMemoryPercentage` of RAM is used.
    public var memoryLimit: String?
    /// The budget as a share of physical memory when no explicit limit is set (`DUCKDB_MAX_MEMORY_PERCENTAGE`).
    public var maxMemoryPercentage: Int = 60
    /// `threads` per instance; nil keeps DuckDB's default (the number of cores).
    public var threads: Int?
    /// Spill directory; defaults to `DATA_DIR/tmp`.
    public var tempDirectory: String?
    /// Extension directory; defaults to the one installed next to `libduckdb.so`.
    public var extensionDirectory: String?
    /// Sync every dataset at start (`startup`) or only when asked (`manual`).
    public var syncMode: SyncMode = .startup
    /// Parallel readers for partitioned datasets and datasets synced at once.
    public var syncWorkers: Int = 4
    /// `PARQUET_COMPRESSION` for Parquet output.
    public var parquetCompression: String = "zstd"
    /// `PARQUET_ROW_GROUP_SIZE` for Parquet output; nil keeps DuckDB's default.
    public var parquetRowGroupSize: Int?

    /// How query results are written as Parquet.
    public var parquet: ParquetSettings {
        ParquetSettings(compression: parquetCompression, rowGroupSize: parquetRowGroupSize)
    }

    public enum SyncMode: String, Sendable, CaseIterable {
        case startup, manual
    }

    public init() {}
}
