import DucklingCore
import Foundation
import Hummingbird
import NIOCore

/// `POST /api/query?db=ID`: one read-only statement, streamed back as JSON, NDJSON or CSV.
struct QueryController {
    let queries: QueryService
    let maxBodyBytes: Int

    func addRoutes(to router: Router<DucklingRequestContext>) {
        router.post("/api/query") { request, context in
            try await query(request, context: context)
        }
    }

    private func query(_ request: Request, context: DucklingRequestContext) async throws -> Response {
        let databaseID = request.uri.queryParameters.get("db") ?? "default"
        try context.authorize(write: false, database: databaseID)
        let queryRequest = try await RequestBodyReader.decode(QueryRequestBody.self, from: request, limit: maxBodyBytes).queryRequest
        let format = ResultFormat.negotiate(accept: request.headers[.accept])
        let stream: QueryStream
        do {
            stream = try await ClientWatch.untilDone(context.channel) {
                try await queries.start(queryRequest, database: databaseID, format: format)
            }
        } catch let error as QueryError {
            throw APIError(error)
        }
        return Response(
            status: .ok,
            headers: [.contentType: format.contentType, .cacheControl: "no-store"],
            body: ResponseBody { writer in
                do {
                    // A client that leaves now makes the next write fail, which cancels the stream.
                    while let bytes = try await stream.next() {
                        try await writer.write(ByteBuffer(bytes: bytes))
                    }
                    try await writer.finish(nil)
                } catch {
                    stream.cancel()
                    throw error
                }
            })
    }
}
