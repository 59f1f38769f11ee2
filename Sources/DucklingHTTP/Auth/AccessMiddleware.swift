import DucklingCore
import Hummingbird

/// Enforces a route group's ``AccessLevel``: `Authorization: Bearer KEY` (never a key in the query
/// string, where it would end up in logs and browser history), the database the route works on
/// (`?db=`, which must exist before anything is recorded about it), and what the key may do there.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = DucklingRequestContext

    let level: AccessLevel
    let scope: RouteScope
    let authenticator: APIKeyAuthenticator
    /// The ids of the configured databases.
    let databases: Set<String>

    static let queryParametersThatCarryKeys: Set<String> = ["api_key", "apikey", "key", "token", "access_token", "auth"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard level != .public else { return try await next(request, context) }
        if request.uri.queryParameters.contains(where: { Self.queryParametersThatCarryKeys.contains(String($0.key).lowercased()) }) {
            throw APIError.unauthorized("API keys are not accepted in the query string; send Authorization: Bearer <key>")
        }
        guard let header = request.headers[.authorization] else {
            throw APIError.unauthorized("this endpoint needs an API key: send Authorization: Bearer <key>")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw APIError.unauthorized("expected Authorization: Bearer <key>")
        }
        guard let principal = authenticator.principal(for: String(parts[1])) else {
            throw APIError.unauthorized("the API key is not valid")
        }
        var context = context
        context.principal = principal
        switch scope {
        case .server:
            guard principal.may(level, database: nil) else {
                throw APIError.forbidden("this endpoint needs the server's admin key")
            }
        case .everyDatabase:
            if principal.database != nil {
                throw APIError.forbidden("this key is for one database; this endpoint tells of every database")
            }
            guard principal.may(level, database: nil) else {
                throw APIError.forbidden("this endpoint needs the server's admin key")
            }
        case .lake:
            if let own = principal.database, own != DucklingCore.Lake.databaseID {
                throw APIError.forbidden("this key may not use the lake")
            }
            guard principal.may(level, database: DucklingCore.Lake.databaseID) else {
                throw APIError.forbidden("this key may not change the lake")
            }
            context.databaseID = DucklingCore.Lake.databaseID
        case .database:
            let database = request.uri.queryParameters.get("db") ?? "default"
            // A key for one database learns nothing about others, not even whether they exist.
            if let own = principal.database, own != database {
                throw APIError.forbidden("this key may not use database '\(database)'")
            }
            guard databases.contains(database) else {
                throw APIError.notFound("database_not_found", "no database with id '\(database)'")
            }
            guard principal.may(level, database: database) else {
                throw APIError.forbidden("this key may not change database '\(database)'")
            }
            context.databaseID = database
        }
        return try await next(request, context)
    }
}

extension DucklingRequestContext {
    /// The database a database-scoped route works on, checked by ``AccessMiddleware``.
    func database() throws -> String {
        guard let databaseID else { throw APIError(.internalServerError, code: "internal_error", message: "the route has no database") }
        return databaseID
    }
}
