/// Limits of the query API, per database.
public struct QuerySettings: Sendable {
    /// Time limit when a request does not set `timeout_ms`.
    public var defaultTimeoutMilliseconds: Int = 30_000
    /// The largest `timeout_ms` a request may ask for.
    public var maxTimeoutMilliseconds: Int = 300_000
    /// Queries running at once (the size of the read connection pool).
    public var maxConcurrent: Int = 8
    /// Queries waiting for a connection; one more gets 429.
    public var maxQueued: Int = 64
    /// Queries slower than this are kept in the slow-query log.
    public var slowQueryMilliseconds: Int = 1_000

    public init() {}
}
