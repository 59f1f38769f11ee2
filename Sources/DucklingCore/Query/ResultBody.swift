/// The body of a started query, read piece by piece: ``QueryStream`` for the formats Duckling
/// encodes itself, ``ParquetStream`` for Parquet, which DuckDB's own writer produces.
public protocol ResultBody: AnyObject, Sendable {
    /// The whole body when the query already ended while starting (small results), else nil.
    /// Throws when the query was stopped before anything was sent.
    func takeCompleteBody() throws -> [UInt8]?
    /// The next piece of the body, or nil after the last. Throws when the response must be cut short.
    func next() async throws -> [UInt8]?
    /// Abandons the body: stops the query and frees what it holds. Safe at any time, more than once.
    func cancel()
}
