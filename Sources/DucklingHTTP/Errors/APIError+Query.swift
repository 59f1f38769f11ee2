import DucklingCore
import Hummingbird

extension APIError {
    /// The HTTP form of a query failure.
    init(_ error: QueryError) {
        let status: HTTPResponse.Status = switch error.category {
        case .invalidRequest: .badRequest
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .overloaded: .tooManyRequests
        case .unavailable: .serviceUnavailable
        case .timeout: .gatewayTimeout
        case .cancelled: .requestTimeout
        case .engine: .internalServerError
        }
        var headers: HTTPFields = [:]
        if let seconds = error.retryAfterSeconds { headers[.retryAfter] = String(seconds) }
        self.init(status, code: error.code, message: error.message, headers: headers)
    }
}
