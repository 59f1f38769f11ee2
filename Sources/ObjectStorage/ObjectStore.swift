public import Foundation

/// A place backups are kept: a local directory or an S3-compatible bucket. Keys are relative,
/// `/`-separated names; large objects move between a local file and the store without being held
/// in memory.
public protocol ObjectStore: Sendable {
    /// A short description of where objects go, for messages (never containing secrets).
    var location: String { get }

    /// Stores the file at `file` as `key`, replacing any object there. The object appears whole or
    /// not at all. `progress` receives the number of bytes sent so far.
    func upload(file: URL, to key: String, progress: (@Sendable (Int64) -> Void)?) async throws

    /// Writes the object `key` to `file` (created or truncated). `progress` receives bytes received.
    func download(_ key: String, to file: URL, progress: (@Sendable (Int64) -> Void)?) async throws

    /// Stores a small object held in memory.
    func put(_ data: Data, at key: String) async throws

    /// Reads a small object into memory.
    func get(_ key: String) async throws -> Data

    /// The object's size and time, or nil when there is none.
    func head(_ key: String) async throws -> ObjectInfo?

    /// Removes the object; removing one that does not exist is not an error.
    func delete(_ key: String) async throws

    /// Every object whose key starts with `prefix`.
    func list(prefix: String) async throws -> [ObjectInfo]

    /// Abandons unfinished uploads (left by a process that was killed) of the keys under `prefix`
    /// that `matching` accepts; returns how many. A prefix alone is not enough: `backup-a-` is also
    /// the start of database `a-b`'s keys.
    func abortUnfinishedUploads(prefix: String, matching: @escaping @Sendable (String) -> Bool) async throws -> Int
}

/// One stored object.
public struct ObjectInfo: Sendable, Equatable {
    public let key: String
    public let size: Int64
    public let lastModified: Date?
    /// The store's entity tag (S3's ETag; for a local file, one made of its size and time).
    public let etag: String?

    public init(key: String, size: Int64, lastModified: Date?, etag: String? = nil) {
        self.key = key
        self.size = size
        self.lastModified = lastModified
        self.etag = etag
    }
}
