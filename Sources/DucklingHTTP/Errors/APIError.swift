public import Hummingbird
import Foundation

/// An error answered as `{"success": false, "error": {"code", "message"}}` with its status.
public struct APIError: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    public var headers: HTTPFields
    /// The id of the run in the way, for a 409 about a running sync.
    public var runID: String?
    /// The snapshot a lake write lost to, for a 409 `lake_conflict`.
    public var snapshotID: Int64?
    /// The path of the field at fault in the request (`run.runId`), for a 400.
    public var field: String?

    public init(_ status: HTTPResponse.Status, code: String, message: String, headers: HTTPFields = [:], runID: String? = nil,
                snapshotID: Int64? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        self.runID = runID
        self.snapshotID = snapshotID
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = try encoder.encode(ErrorBody(error: .init(code: code, message: message, runID: runID, snapshotID: snapshotID, field: field)))
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    struct ErrorBody: Encodable {
        struct Detail: Encodable {
            let code: String
            let message: String
            let runID: String?
            let snapshotID: Int64?
            let field: String?

            enum CodingKeys: String, CodingKey {
                case code, message, field
                case runID = "run_id"
                case snapshotID = "snapshot_id"
            }
        }

        let success = false
        let error: Detail
    }

    /// This error naming the request's field at fault.
    func field(_ path: String) -> APIError {
        var error = self
        error.field = path
        return error
    }

    static func unauthorized(_ message: String) -> APIError {
        APIError(.unauthorized, code: "unauthorized", message: message, headers: [.wwwAuthenticate: "Bearer"])
    }

    static func forbidden(_ message: String) -> APIError {
        APIError(.forbidden, code: "forbidden", message: message)
    }

    static func badRequest(_ code: String, _ message: String) -> APIError {
        APIError(.badRequest, code: code, message: message)
    }

    static func notFound(_ code: String, _ message: String) -> APIError {
        APIError(.notFound, code: code, message: message)
    }
}
