public import AsyncHTTPClient
public import Foundation
public import Logging
import NIOCore
import NIOHTTP1

/// An S3-compatible bucket, spoken to with AsyncHTTPClient and Signature V4: single and multipart
/// uploads (parts retried one by one, the upload aborted on failure), ranged downloads that resume
/// where a broken connection left off, HEAD, DELETE and paged ListObjectsV2.
public struct S3Store: ObjectStore {
    public struct Options: Sendable {
        /// Files larger than this go up in parts.
        public var multipartThreshold = 16 << 20
        public var partSize = 16 << 20
        /// Parts in flight at once (each is held in memory while it is sent).
        public var partConcurrency = 3
        public var listPageSize = 1000
        public var retry = RetryPolicy.standard
        public var requestTimeout: Duration = .seconds(300)

        public init() {}
    }

    let endpoint: URL
    let bucket: String
    let pathStyle: Bool
    let signer: SigV4Signer?
    let client: HTTPClient
    let options: Options
    let logger: Logger

    /// `endpoint` is the service URL (`https://s3.us-east-1.amazonaws.com`, `http://127.0.0.1:9000`).
    /// Without credentials requests go unsigned.
    public init(endpoint: URL, bucket: String, region: String, credentials: S3Credentials?, pathStyle: Bool,
                client: HTTPClient, options: Options = Options(), logger: Logger) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.pathStyle = pathStyle
        self.signer = credentials.map { SigV4Signer(credentials: $0, region: region) }
        self.client = client
        self.options = options
        self.logger = logger
    }

    public var location: String { "s3://\(bucket)" }

    /// `"abc"` → `abc` (S3 quotes its ETags).
    static func unquoted(_ tag: String) -> String {
        tag.count >= 2 && tag.hasPrefix("\"") && tag.hasSuffix("\"") ? String(tag.dropFirst().dropLast()) : tag
    }

    // MARK: - Objects

    public func put(_ data: Data, at key: String) async throws {
        let body = ByteBuffer(bytes: data)
        let hash = SigV4Signer.hex(SHA256Digest.of(data))
        try await options.retry.run("put \(key)", logger: logger) { _ in
            _ = try await send(.PUT, key: key, body: body, payloadHash: hash)
        }
    }

    public func get(_ key: String) async throws -> Data {
        try await options.retry.run("get \(key)", logger: logger) { _ in
            let (_, body) = try await send(.GET, key: key)
            return Data(body.readableBytesView)
        }
    }

    public func head(_ key: String) async throws -> ObjectInfo? {
        do {
            return try await options.retry.run("head \(key)", logger: logger) { _ in
                let (response, _) = try await send(.HEAD, key: key)
                let size = response.headers.first(name: "content-length").flatMap { Int64($0) } ?? 0
                let modified = response.headers.first(name: "last-modified").flatMap(HTTPDate.parse)
                return ObjectInfo(key: key, size: size, lastModified: modified, etag: response.headers.first(name: "etag").map(Self.unquoted))
            }
        } catch let error as ObjectStoreError where error.kind == .notFound {
            return nil
        }
    }

    public func delete(_ key: String) async throws {
        do {
            try await options.retry.run("delete \(key)", logger: logger) { _ in
                _ = try await send(.DELETE, key: key)
            }
        } catch let error as ObjectStoreError where error.kind == .notFound {
            return
        }
    }

    public func list(prefix: String) async throws -> [ObjectInfo] {
        var objects: [ObjectInfo] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("max-keys", String(options.listPageSize))]
            if !prefix.isEmpty { query.append(("prefix", prefix)) }
            if let token { query.append(("continuation-token", token)) }
            let page = try await options.retry.run("list \(prefix)", logger: logger) { [query] _ in
                try await send(.GET, key: nil, query: query).1
            }
            let xml = Substring(String(buffer: page))
            for entry in XMLText.blocks("Contents", in: xml) {
                guard let key = XMLText.value("Key", in: entry) else { continue }
                objects.append(ObjectInfo(key: key, size: XMLText.value("Size", in: entry).flatMap { Int64($0) } ?? 0,
                                          lastModified: XMLText.value("LastModified", in: entry).flatMap(HTTPDate.parseISO),
                                          etag: XMLText.value("ETag", in: entry).map(Self.unquoted)))
            }
            token = XMLText.value("IsTruncated", in: xml) == "true" ? XMLText.value("NextContinuationToken", in: xml) : nil
        } while token != nil
        return objects
    }

    public func abortUnfinishedUploads(prefix: String, matching: @escaping @Sendable (String) -> Bool) async throws -> Int {
        var query = [("uploads", "")]
        if !prefix.isEmpty { query.append(("prefix", prefix)) }
        let listing = try await options.retry.run("list uploads \(prefix)", logger: logger) { [query] _ in
            try await send(.GET, key: nil, query: query).1
        }
        var aborted = 0
        for upload in XMLText.blocks("Upload", in: Substring(String(buffer: listing))) {
            guard let key = XMLText.value("Key", in: upload), let id = XMLText.value("UploadId", in: upload),
                  key.hasPrefix(prefix), matching(key) else { continue }
            try await abort(key: key, uploadID: id)
            aborted += 1
        }
        return aborted
    }

    // MARK: - Uploads

    public func upload(file: URL, to key: String, progress: (@Sendable (Int64) -> Void)?) async throws {
        let input = try FileDescriptor.open(file.path, flags: O_RDONLY)
        defer { input.close() }
        let size = try input.size()
        if size <= Int64(options.multipartThreshold) {
            let bytes = try await BlockingIO.run { try input.read(count: Int(size), at: 0) }
            let body = ByteBuffer(bytes: bytes)
            try await options.retry.run("put \(key)", logger: logger) { _ in
                _ = try await send(.PUT, key: key, body: body, payloadHash: SigV4Signer.unsignedPayload)
            }
            progress?(size)
            return
        }
        try await multipartUpload(input, size: size, key: key, progress: progress)
    }

    private func multipartUpload(_ input: FileDescriptor, size: Int64, key: String, progress: (@Sendable (Int64) -> Void)?) async throws {
        // S3 allows at most 10,000 parts.
        let partSize = max(Int64(options.partSize), (size + 9_999) / 10_000)
        let partCount = Int((size + partSize - 1) / partSize)
        let created = try await options.retry.run("start upload \(key)", logger: logger) { _ in
            try await send(.POST, key: key, query: [("uploads", "")]).1
        }
        guard let uploadID = XMLText.value("UploadId", in: Substring(String(buffer: created))) else {
            throw ObjectStoreError(.server, "start upload \(key): no UploadId in the answer")
        }
        do {
            var sent: Int64 = 0
            var etags = [String](repeating: "", count: partCount)
            try await withThrowingTaskGroup(of: (Int, String, Int).self) { group in
                var next = 0
                func addPart() {
                    let number = next + 1
                    let offset = Int64(next) * partSize
                    let length = Int(min(partSize, size - offset))
                    next += 1
                    group.addTask {
                        let bytes = try await BlockingIO.run { try input.read(count: length, at: offset) }
                        let body = ByteBuffer(bytes: bytes)
                        let etag = try await options.retry.run("upload part \(number) of \(key)", logger: logger) { _ in
                            let (response, _) = try await send(.PUT, key: key, query: [("partNumber", String(number)), ("uploadId", uploadID)],
                                                               body: body, payloadHash: SigV4Signer.unsignedPayload)
                            guard let etag = response.headers.first(name: "etag") else {
                                throw ObjectStoreError(.server, "no ETag for part \(number)")
                            }
                            return etag
                        }
                        return (number, etag, length)
                    }
                }
                while next < min(options.partConcurrency, partCount) { addPart() }
                while let (number, etag, length) = try await group.next() {
                    etags[number - 1] = etag
                    sent += Int64(length)
                    progress?(sent)
                    if next < partCount { addPart() }
                }
            }
            let parts = etags.enumerated().map { "<Part><PartNumber>\($0.offset + 1)</PartNumber><ETag>\(XMLText.escape($0.element))</ETag></Part>" }
            let document = Data("<CompleteMultipartUpload>\(parts.joined())</CompleteMultipartUpload>".utf8)
            let hash = SigV4Signer.hex(SHA256Digest.of(document))
            try await options.retry.run("complete upload \(key)", logger: logger) { _ in
                let (_, body) = try await send(.POST, key: key, query: [("uploadId", uploadID)], body: ByteBuffer(bytes: document), payloadHash: hash)
                // S3 may answer 200 and still report an error in the body.
                let text = Substring(String(buffer: body))
                if text.contains("<Error>") {
                    throw S3ErrorResponse.error(status: 500, body: text, operation: "complete upload")
                }
            }
        } catch {
            do {
                try await abort(key: key, uploadID: uploadID)
            } catch let abortError {
                logger.error("could not abort the multipart upload", metadata: [
                    "duckling.s3.key": .string(key), "duckling.error": .string(String(describing: abortError)),
                ])
            }
            throw error
        }
    }

    private func abort(key: String, uploadID: String) async throws {
        do {
            try await options.retry.run("abort upload \(key)", logger: logger) { _ in
                _ = try await send(.DELETE, key: key, query: [("uploadId", uploadID)])
            }
        } catch let error as ObjectStoreError where error.kind == .notFound {
            return
        }
    }

    // MARK: - Downloads

    public func download(_ key: String, to file: URL, progress: (@Sendable (Int64) -> Void)?) async throws {
        let output = try FileDescriptor.open(file.path, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600)
        defer { output.close() }
        var received: Int64 = 0
        var etag: String?
        var attempt = 1
        // Bytes received but not yet written; kept across a broken connection so the resume starts after them.
        var pending = ByteBuffer()
        while true {
            do {
                var headers: [(String, String)] = []
                if received > 0 {
                    headers.append(("range", "bytes=\(received)-"))
                    if let etag { headers.append(("if-match", etag)) }
                }
                let response = try await execute(.GET, key: key, headers: headers)
                if received > 0 && response.status == .ok {
                    // The server ignored the range: start over.
                    guard ftruncate(output.raw, 0) == 0, lseek(output.raw, 0, SEEK_SET) == 0 else {
                        throw ObjectStoreError(.localFile, "cannot rewind \(file.path)")
                    }
                    received = 0
                }
                etag = etag ?? response.headers.first(name: "etag")
                for try await chunk in response.body {
                    pending.writeImmutableBuffer(chunk)
                    if pending.readableBytes >= FileCopy.chunkSize {
                        received += try await flush(&pending, to: output)
                        progress?(received)
                    }
                }
                received += try await flush(&pending, to: output)
                progress?(received)
                try await BlockingIO.run { try output.sync() }
                return
            } catch {
                received += try await flush(&pending, to: output)
                guard RetryPolicy.isRetryable(error), attempt < options.retry.maxAttempts else {
                    throw RetryPolicy.final(error, what: "download \(key)", attempts: attempt)
                }
                let delay = options.retry.delay(after: attempt)
                logger.warning("s3 download interrupted; resuming", metadata: [
                    "duckling.s3.key": .string(key), "duckling.s3.offset": .stringConvertible(received),
                    "duckling.error": .string(RetryPolicy.describe(error)),
                ])
                try await Task.sleep(for: delay)
                attempt += 1
            }
        }
    }

    private func flush(_ pending: inout ByteBuffer, to output: FileDescriptor) async throws -> Int64 {
        let count = pending.readableBytes
        guard count > 0 else { return 0 }
        let bytes = pending.readBytes(length: count) ?? []
        pending.clear()
        try await BlockingIO.run { try bytes.withUnsafeBytes { try output.writeAll($0) } }
        return Int64(count)
    }

    // MARK: - Requests

    /// Sends a request and collects its body; non-2xx answers throw ``ObjectStoreError``.
    private func send(_ method: HTTPMethod, key: String?, query: [(String, String)] = [], headers: [(String, String)] = [],
                      body: ByteBuffer? = nil, payloadHash: String = SigV4Signer.emptyPayloadHash) async throws -> (HTTPClientResponse, ByteBuffer) {
        let response = try await execute(method, key: key, query: query, headers: headers, body: body, payloadHash: payloadHash)
        let collected = method == .HEAD ? ByteBuffer() : try await response.body.collect(upTo: 64 << 20)
        return (response, collected)
    }

    /// Sends a request; the caller reads the body. Non-2xx answers throw with the S3 error code.
    private func execute(_ method: HTTPMethod, key: String?, query: [(String, String)] = [], headers: [(String, String)] = [],
                         body: ByteBuffer? = nil, payloadHash: String = SigV4Signer.emptyPayloadHash) async throws -> HTTPClientResponse {
        if let key, !ObjectKey.isValid(key) {
            throw ObjectStoreError(.invalidRequest, "invalid object key '\(key)'")
        }
        let target = try address(key: key)
        var request = HTTPClientRequest(url: target.url + Self.queryString(query))
        request.method = method
        var signed = headers + [("host", target.host)]
        if let body { signed.append(("content-length", String(body.readableBytes))) }
        if let signer {
            signed += signer.sign(method: method.rawValue, path: target.path, query: query, headers: headers + [("host", target.host)],
                                  payloadHash: payloadHash, date: Date())
        } else {
            signed.append(("x-amz-content-sha256", payloadHash))
        }
        for (name, value) in signed { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(body) }
        let response = try await client.execute(request, timeout: .init(options.requestTimeout))
        guard (200..<300).contains(response.status.code) else {
            let text = method == .HEAD ? "" : String(buffer: (try? await response.body.collect(upTo: 1 << 20)) ?? ByteBuffer())
            throw S3ErrorResponse.error(status: Int(response.status.code), body: Substring(text), operation: "\(method.rawValue) \(key ?? "/")")
        }
        return response
    }

    private func address(key: String?) throws -> (url: String, host: String, path: String) {
        guard let scheme = endpoint.scheme, let host = endpoint.host else {
            throw ObjectStoreError(.invalidRequest, "invalid S3 endpoint \(endpoint)")
        }
        let defaultPort = scheme == "https" ? 443 : 80
        let port = endpoint.port.flatMap { $0 == defaultPort ? nil : $0 }
        let hostName = pathStyle ? host : "\(bucket).\(host)"
        let hostHeader = port.map { "\(hostName):\($0)" } ?? hostName
        let base = endpoint.path.hasSuffix("/") ? String(endpoint.path.dropLast()) : endpoint.path
        var path = base + (pathStyle ? "/" + SigV4Signer.encode(bucket, keepSlash: false) : "")
        path += "/" + (key.map { SigV4Signer.encode($0, keepSlash: true) } ?? "")
        return ("\(scheme)://\(hostHeader)\(path)", hostHeader, path)
    }

    static func queryString(_ query: [(String, String)]) -> String {
        guard !query.isEmpty else { return "" }
        return "?" + query.map { $0.1.isEmpty ? SigV4Signer.encode($0.0, keepSlash: false)
            : "\(SigV4Signer.encode($0.0, keepSlash: false))=\(SigV4Signer.encode($0.1, keepSlash: false))" }.joined(separator: "&")
    }
}
