import DucklingCore
import Foundation
import Hummingbird
import NIOCore
import ObjectStorage

/// Dataset buckets and objects (DESIGN.md §9, seed paths): create, list, upload, download with
/// `Range`, delete. Names are checked by ``DatasetStore``; a path whose raw form hides a separator
/// or a dot segment in percent-encoding is refused before it is decoded.
struct DatasetsController {
    let datasets: DatasetStore
    let maxUploadBytes: Int64

    func addRoutes(to routes: RouteTable) {
        let reads = routes.group("/datasets", .read, scope: .lake)
        reads.get("/:bucket") { request, context in
            try await call(request) {
                let limit = try request.uri.queryParameters.get("limit").map { text -> Int in
                    guard let value = Int(text) else { throw LakeError(.invalidRequest, code: "invalid_limit", message: "limit must be a number") }
                    return value
                } ?? 1000
                let page = try await datasets.list(try bucket(context), prefix: request.uri.queryParameters.get("prefix") ?? "",
                                                   startAfter: request.uri.queryParameters.get("start_after"), limit: limit)
                return try BucketListingResponse(bucket: page.bucket, objects: page.objects, next: page.next).response(from: request, context: context)
            }
        }
        reads.get("/:bucket/**") { request, context in try await download(request, context: context) }

        let writes = routes.group("/datasets", .write, scope: .lake)
        writes.post("/:bucket") { request, context in
            try await call(request) {
                let name = try bucket(context)
                try await datasets.createBucket(name)
                return try BucketResponse(bucket: name).response(from: request, context: context).with(status: .created)
            }
        }
        writes.delete("/:bucket") { request, context in
            try await call(request) {
                let name = try bucket(context)
                let force = request.uri.queryParameters.get("force").map { ["true", "1", "yes"].contains($0.lowercased()) } ?? false
                let deleted = try await datasets.deleteBucket(name, force: force)
                return try BucketResponse(bucket: name, deletedObjects: deleted).response(from: request, context: context)
            }
        }
        writes.put("/:bucket/**") { request, context in try await upload(request, context: context) }
        writes.delete("/:bucket/**") { request, context in
            try await call(request) {
                let (name, key) = try object(request, context)
                let object = try await datasets.head(name, key)
                try await datasets.delete(name, key)
                return try ObjectResponse(bucket: name, object: object).response(from: request, context: context)
            }
        }
    }

    private func bucket(_ context: DucklingRequestContext) throws -> String {
        try context.parameters.require("bucket")
    }

    /// The bucket and object key of a request. Encoded `/`, `\`, `.` and NUL in the raw path are
    /// refused: they would let a key mean something other than it shows.
    private func object(_ request: Request, _ context: DucklingRequestContext) throws -> (String, String) {
        let raw = request.uri.path.lowercased()
        for encoded in ["%2f", "%5c", "%2e", "%00"] where raw.contains(encoded) {
            throw LakeError(.invalidRequest, code: "invalid_object_key", message: "object keys may not hide /, \\, . or NUL in percent-encoding")
        }
        // Hummingbird hands the path's parts over still percent-encoded.
        guard let key = context.parameters.getCatchAll().joined(separator: "/").removingPercentEncoding else {
            throw LakeError(.invalidRequest, code: "invalid_object_key", message: "the object key is not valid percent-encoding")
        }
        return (try bucket(context), key)
    }

    private func call(_ request: Request, _ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let error as LakeError {
            throw APIError(error)
        } catch let error as ObjectStoreError where error.kind == .invalidRequest {
            throw APIError(.badRequest, code: "invalid_object_key", message: String(describing: error))
        } catch let error as ObjectStoreError where error.kind == .notFound {
            throw APIError(.notFound, code: "object_not_found", message: String(describing: error))
        } catch let error as ObjectStoreError {
            throw APIError(.badGateway, code: "store_error", message: String(describing: error))
        }
    }

    /// `PUT /datasets/{bucket}/{object}`: the body streamed to a file, then stored whole (multipart on S3).
    private func upload(_ request: Request, context: DucklingRequestContext) async throws -> Response {
        try await call(request) {
            let (name, key) = try object(request, context)
            // Refused before the body is read: an unknown bucket or a bad key.
            try await datasets.checkTarget(name, key)
            let file = URL(fileURLWithPath: datasets.incomingDirectory + "/" + UUID().uuidString.lowercased() + ".upload")
            defer { BlockingIO.removeInBackground(file) }
            _ = try await RequestBodyReader.write(request, to: file, context: context, limit: maxUploadBytes)
            let stored = try await datasets.put(name, key, file: file)
            return try ObjectResponse(bucket: name, object: stored).response(from: request, context: context).with(status: .created)
        }
    }

    /// `GET /datasets/{bucket}/{object}`: the object streamed from a file, whole or the `Range` asked for.
    private func download(_ request: Request, context: DucklingRequestContext) async throws -> Response {
        try await call(request) {
            let (name, key) = try object(request, context)
            let (file, object, temporary) = try await datasets.localFile(name, key)
            let size = object.size
            var range: ClosedRange<Int64> = 0...max(0, size - 1)
            var status: HTTPResponse.Status = .ok
            if let header = request.headers[.range] {
                guard let asked = Self.range(header, size: size) else {
                    if temporary { BlockingIO.removeInBackground(file) }
                    throw APIError(.rangeNotSatisfiable, code: "invalid_range", message: "the range '\(header.prefix(60))' is not within the object's \(size) bytes",
                                   headers: [.contentRange: "bytes */\(size)"])
                }
                range = asked
                status = .partialContent
            }
            let length = size == 0 ? 0 : range.upperBound - range.lowerBound + 1
            var headers: HTTPFields = [.contentType: "application/octet-stream", .contentLength: String(length), .acceptRanges: "bytes"]
            if let etag = object.etag { headers[.eTag] = "\"\(etag)\"" }
            if status == .partialContent { headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(size)" }
            let path = file.path
            let start = range.lowerBound
            return Response(status: status, headers: headers, body: ResponseBody { writer in
                defer { if temporary { BlockingIO.removeInBackground(URL(fileURLWithPath: path)) } }
                let descriptor = try await BlockingIO.run { try FileDescriptor.open(path, flags: O_RDONLY) }
                defer { descriptor.close() }
                var offset = start
                let end = start + length
                while offset < end {
                    let count = Int(min(Int64(256 << 10), end - offset))
                    let at = offset
                    let bytes = try await BlockingIO.run { try descriptor.read(count: count, at: at) }
                    guard !bytes.isEmpty else { break }
                    try await writer.write(ByteBuffer(bytes: bytes))
                    offset += Int64(bytes.count)
                }
                try await writer.finish(nil)
            })
        }
    }

    /// `bytes=a-b`, `bytes=a-` or `bytes=-n` within `size` bytes; nil when unsatisfiable or malformed.
    static func range(_ header: String, size: Int64) -> ClosedRange<Int64>? {
        guard header.hasPrefix("bytes="), size > 0 else { return nil }
        let spec = header.dropFirst("bytes=".count)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash].trimmingCharacters(in: .whitespaces), last = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        if first.isEmpty {
            guard let suffix = Int64(last), suffix > 0 else { return nil }
            return max(0, size - suffix)...(size - 1)
        }
        guard let start = Int64(first), start < size else { return nil }
        guard !last.isEmpty else { return start...(size - 1) }
        guard let end = Int64(last), end >= start else { return nil }
        return start...min(end, size - 1)
    }
}
