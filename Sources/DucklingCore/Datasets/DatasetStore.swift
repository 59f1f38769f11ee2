public import Foundation
public import ObjectStorage
public import AsyncHTTPClient
public import Logging

/// Dataset buckets and their objects (DESIGN.md §9), kept on an ``ObjectStore``: a local directory
/// by default, an S3 prefix when configured. A bucket is a key prefix with a marker object
/// (`BUCKET/.bucket`); object keys stay inside their bucket (see ``DatasetNames``).
public struct DatasetStore: Sendable {
    public let store: any ObjectStore
    static let marker = ".bucket"
    /// Where uploads are received and S3 objects copied before they are served.
    public let incomingDirectory: String

    public init(store: any ObjectStore, workDirectory: String) throws {
        self.store = store
        self.incomingDirectory = workDirectory + "/incoming"
        try FileManager.default.createDirectory(atPath: incomingDirectory, withIntermediateDirectories: true)
        Lake.removeLeftoverUploads(in: incomingDirectory)
    }

    /// The store `settings` names: its datasets directory, or its S3 location.
    public init(settings: LakeSettings, httpClient: HTTPClient, options: S3Store.Options = S3Store.Options(), logger: Logger) throws {
        switch settings.datasets {
        case .directory(let path):
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try self.init(store: LocalDirectoryStore(root: URL(fileURLWithPath: path)), workDirectory: settings.workDirectory)
        case .s3(let bucket, let prefix):
            guard let s3 = settings.s3, let endpoint = URL(string: s3.endpoint) else {
                throw LakeError(.unavailable, code: "datasets_unavailable", message: "lake.datasets is on S3 but lake.s3 has no usable endpoint")
            }
            let credentials = s3.accessKey.flatMap { access in
                s3.secretKey.map { S3Credentials(accessKey: access.value, secretKey: $0.value, sessionToken: s3.sessionToken?.value) }
            }
            let store = S3Store(endpoint: endpoint, bucket: bucket, region: s3.region, credentials: credentials, pathStyle: s3.pathStyle,
                                client: httpClient, options: options, logger: logger)
            try self.init(store: PrefixedStore(base: store, prefix: prefix), workDirectory: settings.workDirectory)
        }
    }

    /// An object as listed.
    public struct Object: Sendable, Codable, Equatable {
        public let key: String
        public let size: Int64
        /// ISO 8601, UTC.
        public let lastModified: String?
        public let etag: String?

        enum CodingKeys: String, CodingKey {
            case key, size, etag
            case lastModified = "last_modified"
        }

        init(_ info: ObjectInfo, bucket: String) {
            self.key = String(info.key.dropFirst(bucket.count + 1))
            self.size = info.size
            self.lastModified = info.lastModified.map { ISO8601DateFormatter().string(from: $0) }
            self.etag = info.etag
        }
    }

    /// One page of a bucket's objects, in key order; `next` is the `start_after` of the next page.
    public struct Page: Sendable, Codable, Equatable {
        public let bucket: String
        public let objects: [Object]
        public let next: String?
    }

    public func createBucket(_ bucket: String) async throws {
        try DatasetNames.checkBucket(bucket)
        if try await exists(bucket) { throw LakeError(.conflict, code: "bucket_exists", message: "the bucket '\(bucket)' exists already") }
        try await store.put(Data(), at: bucket + "/" + Self.marker)
    }

    public func exists(_ bucket: String) async throws -> Bool {
        try await store.head(bucket + "/" + Self.marker) != nil
    }

    private func requireBucket(_ bucket: String) async throws {
        try DatasetNames.checkBucket(bucket)
        guard try await exists(bucket) else { throw LakeError(.notFound, code: "bucket_not_found", message: "no bucket named '\(bucket)'") }
    }

    /// Checks that `bucket` exists and `key` is a valid object key (before a body is read).
    public func checkTarget(_ bucket: String, _ key: String) async throws {
        try await requireBucket(bucket)
        try DatasetNames.checkKey(key)
    }

    /// Objects whose keys start with `prefix`, after `startAfter`, at most `limit`.
    public func list(_ bucket: String, prefix: String = "", startAfter: String? = nil, limit: Int = 1000) async throws -> Page {
        try await requireBucket(bucket)
        guard (1...10_000).contains(limit) else { throw LakeError.invalid("invalid_limit", "limit must be between 1 and 10000") }
        let all = try await objects(in: bucket).filter { $0.key.dropFirst(bucket.count + 1).hasPrefix(prefix) }
        let after = all.filter { startAfter == nil || String($0.key.dropFirst(bucket.count + 1)) > startAfter! }
        let page = after.prefix(limit).map { Object($0, bucket: bucket) }
        return Page(bucket: bucket, objects: page, next: after.count > limit ? page.last?.key : nil)
    }

    /// Every object of the bucket, without the marker.
    private func objects(in bucket: String) async throws -> [ObjectInfo] {
        try await store.list(prefix: bucket + "/").filter { $0.key != bucket + "/" + Self.marker }.sorted { $0.key < $1.key }
    }

    /// Stores `file` as the object (whole or not at all; multipart on S3).
    public func put(_ bucket: String, _ key: String, file: URL) async throws -> Object {
        try await requireBucket(bucket)
        try DatasetNames.checkKey(key)
        try await store.upload(file: file, to: bucket + "/" + key, progress: nil)
        guard let info = try await store.head(bucket + "/" + key) else {
            throw LakeError(.engine, code: "upload_failed", message: "the object was stored but cannot be found")
        }
        return Object(info, bucket: bucket)
    }

    /// The object's description, or 404.
    public func head(_ bucket: String, _ key: String) async throws -> Object {
        try await requireBucket(bucket)
        try DatasetNames.checkKey(key)
        guard let info = try await store.head(bucket + "/" + key) else {
            throw LakeError(.notFound, code: "object_not_found", message: "no object '\(key)' in bucket '\(bucket)'")
        }
        return Object(info, bucket: bucket)
    }

    /// A local file holding the object: the store's own file for a local directory, else a copy
    /// (`temporary`), which the caller removes.
    public func localFile(_ bucket: String, _ key: String) async throws -> (url: URL, object: Object, temporary: Bool) {
        let object = try await head(bucket, key)
        if let local = store as? LocalDirectoryStore {
            return (try local.file(for: bucket + "/" + key), object, false)
        }
        let copy = URL(fileURLWithPath: incomingDirectory + "/" + UUID().uuidString.lowercased() + ".download")
        do {
            try await store.download(bucket + "/" + key, to: copy, progress: nil)
        } catch {
            try? FileManager.default.removeItem(at: copy)
            throw error
        }
        return (copy, object, true)
    }

    public func delete(_ bucket: String, _ key: String) async throws {
        _ = try await head(bucket, key)
        try await store.delete(bucket + "/" + key)
    }

    /// Removes an empty bucket, or with `force` a bucket and everything in it.
    public func deleteBucket(_ bucket: String, force: Bool) async throws -> Int {
        try await requireBucket(bucket)
        let objects = try await objects(in: bucket)
        guard objects.isEmpty || force else {
            throw LakeError(.conflict, code: "bucket_not_empty", message: "the bucket '\(bucket)' holds \(objects.count) objects: delete them first, or pass force=true")
        }
        for object in objects { try await store.delete(object.key) }
        try await store.delete(bucket + "/" + Self.marker)
        return objects.count
    }
}
