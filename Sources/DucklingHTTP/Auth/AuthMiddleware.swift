import Hummingbird

/// Requires `Authorization: Bearer KEY` on every route but the public ones, and never accepts a
/// key in the query string (where it would end up in logs and browser history).
struct AuthMiddleware: RouterMiddleware {
    typealias Context = DucklingRequestContext

    let authenticator: APIKeyAuthenticator
    /// Paths answered without a key (liveness and readiness).
    let publicPaths: Set<String>

    static let queryParametersThatCarryKeys: Set<String> = ["api_key", "apikey", "key", "token", "access_token", "auth"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if publicPaths.contains(request.uri.path) {
            return try await next(request, context)
        }
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
        return try await next(request, context)
    }
}

extension DucklingRequestContext {
    /// Throws 403 unless the caller may read (or, with `write`, change) the database.
    func authorize(write: Bool, database: String) throws {
        guard let principal else { throw APIError.unauthorized("this endpoint needs an API key") }
        guard principal.may(write: write, database: database) else {
            throw APIError.forbidden(write
                ? "this key may not change database '\(database)'"
                : "this key may not read database '\(database)'")
        }
    }
}
