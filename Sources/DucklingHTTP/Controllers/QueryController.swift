import DuckDBKit
import DucklingCore
import Foundation
import Hummingbird
import NIOCore

/// `POST /api/query?db=ID`: one read-only statement, streamed back as JSON, NDJSON or CSV.
struct QueryController {
    let queries: QueryService
    let maxBodyBytes: Int

    func addRoutes(to routes: RouteTable) {
        routes.group("/api/query", .read).post { request, context in
            try await query(request, context: context)
        }
    }

    private func query(_ request: Request, context: DucklingRequestContext) async throws -> Response {
        let databaseID = try context.database()
        let queryRequest = try await RequestBodyReader.decode(QueryRequestBody.self, from: request, context: context, limit: maxBodyBytes).queryRequest
        let format = ResultFormat.negotiate(accept: request.headers[.accept])
        let interrupter = Interrupter()
        let watch = ClientWatch(interrupter, channel: context.channel)
        let stream: QueryStream
        do {
            stream = try await queries.start(queryRequest, database: databaseID, format: format, interrupter: interrupter)
        } catch let error as QueryError {
            watch.end()
            throw APIError(error)
        }
        return Self.response(streaming: stream, format: format, watch: watch)
    }

    /// The response for a started query: one buffer when the result is already complete, else a
    /// body streamed chunk by chunk. `watch` ends when the body does.
    static func response(streaming stream: QueryStream, format: ResultFormat, watch: ClientWatch?) -> Response {
        let headers: HTTPFields = [.contentType: format.contentType, .cacheControl: "no-store"]
        if let body = stream.takeCompleteBody() {
            watch?.end()
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        return Response(
            status: .ok,
            headers: headers,
            body: ResponseBody { writer in
                defer { watch?.end() }
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
