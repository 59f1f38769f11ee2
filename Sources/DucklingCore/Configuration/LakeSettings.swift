/// The DuckLake lake (DESIGN.md §9, §13): where its catalog and data files live, and the dataset
/// buckets beside it.
public struct LakeSettings: Sendable {
    /// Where the catalog is kept.
    public enum Catalog: Sendable, Equatable {
        /// A DuckDB file (one Duckling process at a time).
        case file(String)
        /// A PostgreSQL database (`postgresql://…`): several Duckling processes share the lake.
        case postgres(Secret)
    }

    /// Where files are kept: a local directory or an S3 location reached through ``LakeSettings/s3``.
    public enum Location: Sendable, Equatable {
        case directory(String)
        case s3(bucket: String, prefix: String)

        /// `s3://bucket/prefix/` or the directory with a trailing `/`.
        public var url: String {
            switch self {
            case .directory(let path): path.hasSuffix("/") ? path : path + "/"
            case .s3(let bucket, let prefix): "s3://\(bucket)/" + (prefix.isEmpty ? "" : prefix + "/")
            }
        }
    }

    public var enabled = true
    public var catalog: Catalog
    /// The PostgreSQL schema holding the catalog's tables.
    public var metadataSchema = "ducklake"
    public var dataPath: Location
    /// Where dataset buckets are kept.
    public var datasets: Location
    /// How S3 locations are reached (endpoint, region, keys, path style); its bucket and prefix are unused.
    public var s3: S3Settings?
    /// Snapshots older than this are expired by maintenance (never the current one).
    public var snapshotMaxAgeSeconds = 7 * 86_400
    /// Appends of fewer rows than this are kept in the catalog until maintenance writes them out
    /// (DuckLake's `DATA_INLINING_ROW_LIMIT`); nil keeps DuckLake's default (10), 0 turns it off.
    public var dataInliningRowLimit: Int?
    /// Rows per row group of the Parquet files the lake writes (DuckLake's `parquet_row_group_size`);
    /// nil chooses by where the files go: half DuckDB's default (61,440) for a directory, a quarter
    /// (30,720) for S3, where `httpfs` also buffers each file's upload. A large append buffers that
    /// much less before it writes.
    public var parquetRowGroupSize: Int?

    /// The row group size the lake is attached with.
    public var effectiveRowGroupSize: Int {
        if let parquetRowGroupSize { return parquetRowGroupSize }
        if case .s3 = dataPath { return 30_720 }
        return 61_440
    }
    /// The largest append or upload body accepted, in bytes (separate from the query body limit).
    public var maxAppendBytes: Int64 = 4 << 30
    /// Duckling's own working files for the lake: uploads being appended, spill files.
    public var workDirectory: String

    public init(dataDirectory: String) {
        let root = dataDirectory + "/lake"
        self.catalog = .file(root + "/catalog.ducklake")
        self.dataPath = .directory(root + "/files/")
        self.datasets = .directory(dataDirectory + "/datasets/")
        self.workDirectory = root + "/work"
    }
}
