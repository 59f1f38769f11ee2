import Foundation
import ObjectStorage

/// An object store seen through a key prefix (`datasets/` inside an S3 bucket, say).
struct PrefixedStore: ObjectStore {
    let base: any ObjectStore
    let prefix: String

    private func full(_ key: String) -> String { ObjectKey.join(prefix, key) }

    private func relative(_ info: ObjectInfo) -> ObjectInfo {
        ObjectInfo(key: prefix.isEmpty ? info.key : String(info.key.dropFirst(prefix.count + 1)), size: info.size,
                   lastModified: info.lastModified, etag: info.etag)
    }

    var location: String { base.location + (prefix.isEmpty ? "" : "/" + prefix) }

    func upload(file: URL, to key: String, progress: (@Sendable (Int64) -> Void)?) async throws {
        try await base.upload(file: file, to: full(key), progress: progress)
    }

    func download(_ key: String, to file: URL, progress: (@Sendable (Int64) -> Void)?) async throws {
        try await base.download(full(key), to: file, progress: progress)
    }

    func put(_ data: Data, at key: String) async throws { try await base.put(data, at: full(key)) }

    func get(_ key: String) async throws -> Data { try await base.get(full(key)) }

    func head(_ key: String) async throws -> ObjectInfo? { try await base.head(full(key)).map(relative) }

    func delete(_ key: String) async throws { try await base.delete(full(key)) }

    func list(prefix listed: String) async throws -> [ObjectInfo] {
        try await base.list(prefix: full(listed)).map(relative)
    }

    func abortUnfinishedUploads(prefix listed: String, matching: @escaping @Sendable (String) -> Bool) async throws -> Int {
        let prefix = self.prefix
        return try await base.abortUnfinishedUploads(prefix: full(listed)) { key in
            matching(prefix.isEmpty ? key : String(key.dropFirst(prefix.count + 1)))
        }
    }
}
