/// What to copy from a source, and how to keep the copy current (DESIGN.md §4, §5).
public struct DatasetSettings: Sendable {
    /// Either a whole table, or the split-query form that becomes `{name}_dataset`,
    /// `{name}_results` and a view `{name}` joining them on `dataset_id`.
    public enum Shape: Sendable, Equatable {
        case table(String)
        case split(datasetQuery: String, resultsQuery: String)
    }

    public enum DeleteDetection: String, Sendable, CaseIterable {
        case none
        case primaryKeyDiff = "primary_key_diff"
    }

    public var name: String
    public var source: String
    public var shape: Shape
    public var primaryKey: [String] = []
    /// Primary key of `{name}_results` in the split form (defaults to `primaryKey`).
    public var resultsPrimaryKey: [String] = []
    public var incrementalColumn: String?
    /// Re-read window behind the watermark for late commits, in seconds (needs a primary key).
    public var lookbackSeconds: Int = 0
    public var partitionColumn: String?
    /// Seconds between scheduled runs (`refresh_interval_minutes`, or a duration); nil uses the
    /// database's `sync_interval_minutes`, 0 disables.
    public var refreshIntervalSeconds: Int?
    /// Seconds a source query may take.
    public var queryTimeoutSeconds: Int = 120
    public var maxSyncRows: Int?
    public var deleteDetection: DeleteDetection = .none
    public var softDeleteColumn: String?
    /// Overrides the engine's `sync_mode` for this dataset.
    public var syncMode: EngineSettings.SyncMode?

    public init(name: String, source: String, shape: Shape) {
        self.name = name
        self.source = source
        self.shape = shape
    }
}
