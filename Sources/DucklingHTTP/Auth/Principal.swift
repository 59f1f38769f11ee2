/// Who a request's API key identifies, and what it may do.
public struct Principal: Sendable, Equatable {
    public enum Role: String, Sendable {
        /// Everything, on every database it may reach.
        case admin
        /// Queries and status only.
        case readOnly = "read_only"
    }

    public let role: Role
    /// nil for every database; otherwise the one database a per-database key is for.
    public let database: String?

    /// Whether this caller may read (`write == false`) or change (`write == true`) `databaseID`.
    public func may(write: Bool, database databaseID: String) -> Bool {
        if let database, database != databaseID { return false }
        return !write || role == .admin
    }
}
