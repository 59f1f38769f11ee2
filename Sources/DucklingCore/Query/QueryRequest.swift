public import DuckDBKit

/// A query from a caller: one read-only statement, its parameters and a time limit.
public struct QueryRequest: Sendable {
    public enum Parameters: Sendable, Equatable {
        case none
        /// Values for `$1`, `$2`, … (or `?`).
        case positional([DuckDBValue])
        /// Values for `$name` parameters.
        case named([String: DuckDBValue])
    }

    public var sql: String
    public var parameters: Parameters
    /// Milliseconds; nil uses the configured default. Capped by the configured maximum.
    public var timeoutMilliseconds: Int?

    public init(sql: String, parameters: Parameters = .none, timeoutMilliseconds: Int? = nil) {
        self.sql = sql
        self.parameters = parameters
        self.timeoutMilliseconds = timeoutMilliseconds
    }
}
