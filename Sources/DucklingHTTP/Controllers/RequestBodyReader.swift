import Foundation
import Hummingbird
import NIOCore
import ObjectStorage

/// Reads a bounded JSON request body into a Decodable type, with the API's errors.
///
/// Over the limit the answer is 413 with `Connection: close`, and the rest of the body is read
/// and thrown away first (up to ``drainLimit``), so a client that writes its whole body before it
/// reads (Python's `urllib`, say) gets the 413 at once instead of blocking on a full socket. A
/// client that sent `Expect: 100-continue` has not sent the body: it gets the 413 straight away.
enum RequestBodyReader {
    /// How much of an oversized body is read and discarded before the connection is closed anyway.
    static let drainLimit = 256 << 20
    /// How long an oversized body may take to arrive before the connection is closed anyway.
    static let drainTime: Duration = .seconds(10)

    static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: DucklingRequestContext, limit: Int) async throws -> T {
        let body = try await collect(request, context: context, limit: limit)
        do {
            return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        } catch let error as DecodingError {
            throw APIError.badRequest("invalid_request", describe(error))
        }
    }

    /// The whole body, at most `limit` bytes.
    static func collect(_ request: Request, context: DucklingRequestContext, limit: Int) async throws -> ByteBuffer {
        var iterator = request.body.makeAsyncIterator()
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            if request.headers[.expect]?.lowercased() != "100-continue" {
                await drain(&iterator, channel: context.channel)
            }
            throw tooLarge(limit)
        }
        var buffer = ByteBuffer()
        while let part = try await iterator.next() {
            guard buffer.readableBytes + part.readableBytes <= limit else {
                await drain(&iterator, channel: context.channel)
                throw tooLarge(limit)
            }
            buffer.writeImmutableBuffer(part)
        }
        return buffer
    }

    /// Streams the whole body into a new file at `file`, at most `limit` bytes, holding no more
    /// than about a megabyte in memory; returns the number of bytes written. Over the limit (by
    /// `Content-Length` or as it arrives) the file is removed and the answer is 413.
    static func write(_ request: Request, to file: URL, context: DucklingRequestContext, limit: Int64) async throws -> Int64 {
        var iterator = request.body.makeAsyncIterator()
        if let length = request.headers[.contentLength].flatMap(Int64.init), length > limit {
            if request.headers[.expect]?.lowercased() != "100-continue" {
                await drain(&iterator, channel: context.channel)
            }
            throw tooLarge(limit)
        }
        let path = file.path
        let descriptor = try await BlockingIO.run { try FileDescriptor.open(path, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600) }
        var written: Int64 = 0
        var pending = ByteBuffer()
        func flush() async throws {
            guard pending.readableBytes > 0 else { return }
            let bytes = pending
            pending = ByteBuffer()
            try await BlockingIO.run { try bytes.withUnsafeReadableBytes { try descriptor.writeAll($0) } }
        }
        do {
            while let part = try await iterator.next() {
                written += Int64(part.readableBytes)
                guard written <= limit else {
                    await drain(&iterator, channel: context.channel)
                    throw tooLarge(limit)
                }
                pending.writeImmutableBuffer(part)
                if pending.readableBytes >= 1 << 20 { try await flush() }
            }
            try await flush()
            descriptor.close()
            return written
        } catch {
            descriptor.close()
            BlockingIO.removeInBackground(file)
            throw error
        }
    }

    /// Reads and discards what is left of the body. Past ``drainLimit`` or ``drainTime`` the
    /// connection is closed shortly after the answer has gone out, so nobody can keep it busy.
    private static func drain(_ iterator: inout RequestBody.AsyncIterator, channel: any Channel) async {
        // A client that stops sending mid-body is cut off at the deadline: closing the input ends
        // the body, so the drain cannot hang, and the 413 still goes out before the connection closes.
        let cutOff = channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(drainTime.components.seconds) * 1_000_000_000)) {
            channel.close(mode: .input, promise: nil)
        }
        defer { cutOff.cancel() }
        var discarded = 0
        do {
            while let part = try await iterator.next() {
                discarded += part.readableBytes
                if discarded > drainLimit {
                    channel.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
                    return
                }
            }
        } catch {
            // The client went away: nothing is left to answer.
        }
    }

    private static func tooLarge(_ limit: some BinaryInteger) -> APIError {
        APIError(.contentTooLarge, code: "body_too_large", message: "the request body is larger than \(limit) bytes",
                 headers: [.connection: "close"])
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, _): "missing field '\(key.stringValue)'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            "wrong type for '\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)"
        case .dataCorrupted(let context):
            context.codingPath.isEmpty
                ? "the body is not valid JSON"
                : "invalid value for '\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)"
        @unknown default: "the body could not be read"
        }
    }
}
