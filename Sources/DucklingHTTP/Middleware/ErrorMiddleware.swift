import Hummingbird
import NIOCore

/// Gives every error the API's JSON shape: framework errors keep their status, anything
/// unexpected becomes a 500 whose details stay in the log.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = DucklingRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, code: "body_too_large", message: "the request body is larger than the server accepts")
        } catch let error as any HTTPResponseError {
            let code = error.status == .notFound ? "not_found" : "http_\(error.status.code)"
            let message = (error as? HTTPError)?.body ?? error.status.reasonPhrase
            throw APIError(error.status, code: code, message: message, headers: (error as? HTTPError)?.headers ?? [:])
        } catch {
            context.logger.error("request failed", metadata: ["duckling.error": .string(String(describing: error))])
            throw APIError(.internalServerError, code: "internal_error", message: "the server failed to handle the request")
        }
    }
}
