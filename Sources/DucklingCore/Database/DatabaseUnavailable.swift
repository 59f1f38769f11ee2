/// The database cannot take work right now (it is being restored or reopened); retry later.
public struct DatabaseUnavailable: Error, Sendable, CustomStringConvertible {
    public let databaseID: String
    public let reason: String
    /// Seconds after which a retry is likely to succeed.
    public let retryAfterSeconds: Int

    public var description: String { "database '\(databaseID)' is unavailable: \(reason)" }
}
