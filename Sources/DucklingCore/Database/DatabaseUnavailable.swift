/// The database cannot take work right now (it is being restored or reopened, or it failed); retry later.
public struct DatabaseUnavailable: Error, Sendable, CustomStringConvertible {
    public let databaseID: String
    public let reason: String
    /// Seconds after which a retry is likely to succeed.
    public let retryAfterSeconds: Int
    /// `database_unavailable`, or `database_failed` once recovery has given up.
    public var code: String = "database_unavailable"

    public var description: String { "database '\(databaseID)' is unavailable: \(reason)" }
}
