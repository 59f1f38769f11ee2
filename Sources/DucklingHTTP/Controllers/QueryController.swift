import DuckDBKit
import DucklingCore
import Foundation
import Hummingbird
import NIOCore

/// `POST /api/query?db=ID`: one read-only statement, streamed back as JSON, NDJSON, CSV, Parquet or Arrow.
struct QueryController {
    let queries: QueryService
    let maxBodyBytes: Int

    func addRoutes(to routes: RouteTable) {
        // `?db=lake` queries the lake.
        routes.group("/api/query", .read, extraDatabases: queries.queryableIDs).post { request, context in
            try await query(request, context: context)
        }
    }

    private func query(_ request: Request, context: DucklingRequestContext) async throws -> Response {
        let databaseID = try context.database()
        let queryRequest = try await RequestBodyReader.decode(QueryRequestBody.self, from: request, context: context, limit: maxBodyBytes).queryRequest
        return try await Self.run(queryRequest, database: databaseID, request: request, context: context, queries: queries)
    }

    /// Runs a query and streams its result in the format `Accept` asks for; a client that leaves stops it.
    static func run(_ queryRequest: QueryRequest, database databaseID: String, request: Request, context: DucklingRequestContext,
                    queries: QueryService) async throws -> Response {
        let format = try Self.format(of: request)
        let interrupter = Interrupter()
        let watch = ClientWatch(interrupter, channel: context.channel)
        do {
            let stream = try await queries.start(queryRequest, database: databaseID, format: format, interrupter: interrupter)
            return try Self.response(streaming: stream, format: format, watch: watch)
        } catch let error as QueryError {
            watch.end()
            throw APIError(error)
        }
    }

    /// The format a request asks for with `?format=` or `Accept`; an unknown `?format=` is refused.
    static func format(of request: Request) throws -> ResultFormat {
        let named = request.uri.queryParameters.get("format").map { String($0) }
        guard let format = ResultFormat.negotiate(accept: request.headers[.accept], format: named) else {
            throw APIError.badRequest("invalid_format", "format must be one of \(ResultFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return format
    }

    /// The response for a started query: one buffer when the result is already complete, else a
    /// body streamed chunk by chunk. `watch` ends when the body does. Throws the ``QueryError`` of a
    /// query stopped before anything was sent (its time limit, say), which is answered as an error.
    static func response(streaming stream: any ResultBody, format: ResultFormat, watch: ClientWatch?) throws -> Response {
        var headers: HTTPFields = [.contentType: format.contentType, .cacheControl: "no-store"]
        if format == .parquet || format == .arrow {
            // Binary results are files: saved under a name of their own by browsers and `curl -OJ`.
            headers[.contentDisposition] = "attachment; filename=\"result.\(format.fileExtension)\""
        }
        if let body = try stream.takeCompleteBody() {
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
