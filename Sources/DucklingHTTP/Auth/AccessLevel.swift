/// What a route needs from the caller's key. Routes declare it when they are registered
/// (``RouteTable``); a middleware enforces it, never the handler.
public enum AccessLevel: String, Sendable, CaseIterable {
    /// No key (liveness and readiness).
    case `public`
    /// Any key that may use the database: queries, status, listings.
    case read
    /// A key that may change the database: syncs, backups, restores.
    case write
    /// The server-wide admin key only: what spans every database.
    case admin
}

/// Whether a route works on one database (`?db=ID`, default `default`) or on the server.
public enum RouteScope: String, Sendable {
    case database, server
    /// The lake's tables and the dataset buckets: any key but one for another database.
    case lake
    /// What tells of every database (event streams, lineage): any key not limited to one database.
    case everyDatabase = "every_database"
}

extension Principal {
    /// Whether this caller may use a route of `level`; `database` is the route's database, or
    /// nil for a server-wide route.
    public func may(_ level: AccessLevel, database databaseID: String?) -> Bool {
        if let databaseID, let database, database != databaseID { return false }
        switch level {
        case .public, .read: return true
        case .write: return role == .admin
        case .admin: return role == .admin && database == nil
        }
    }
}
