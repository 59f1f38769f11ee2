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
    /// Consecutive engine failures that open a database's circuit breaker; 0 turns it off.
    public var breakerFailures: Int = 5
    /// How long an open breaker refuses queries before it lets one probe through.
    public var breakerCooldownSeconds: Int = 30
    /// Whether queries are counted and timed for `/api/statistics` (off only to measure its cost).
    public var statistics = true
    /// Checked, prepared statements each read connection keeps by SQL text (least recently used
    /// out first), so a repeated query is parsed, checked and planned once; 0 turns it off.
    public var statementCacheSize: Int = 128

    public init() {}
}
