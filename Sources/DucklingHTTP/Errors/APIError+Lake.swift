import DucklingCore
import Hummingbird

extension APIError {
    /// The HTTP form of a lake or dataset failure.
    init(_ error: LakeError) {
        let status: HTTPResponse.Status = switch error.category {
        case .invalidRequest: .badRequest
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .conflict: .conflict
        case .tooLarge: .contentTooLarge
        case .badRange: .rangeNotSatisfiable
        case .unavailable: .serviceUnavailable
        case .engine: .internalServerError
        }
        self.init(status, code: error.code, message: error.message,
                  headers: error.category == .unavailable ? [.retryAfter: "5"] : [:], snapshotID: error.snapshotID)
    }
}
