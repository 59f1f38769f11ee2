public import Foundation

/// Objects kept as files under a directory. Writes go to a hidden temporary name first and are
/// renamed into place, so a reader never sees half an object. File work runs on the blocking I/O
/// threads, never on the cooperative pool.
public struct LocalDirectoryStore: ObjectStore {
    public let root: URL

    public init(root: URL) {
        self.root = root
    }

    public var location: String { root.path }

    private func url(for key: String) throws -> URL {
        guard ObjectKey.isValid(key) else { throw ObjectStoreError(.invalidRequest, "invalid object key '\(key)'") }
        return root.appendingPathComponent(key)
    }

    public func upload(file: URL, to key: String, progress: (@Sendable (Int64) -> Void)?) async throws {
        let target = try url(for: key)
        try await FileCopy.copy(from: file, to: target, progress: progress)
    }

    public func download(_ key: String, to file: URL, progress: (@Sendable (Int64) -> Void)?) async throws {
        let source = try url(for: key)
        guard try await BlockingIO.run({ FileManager.default.fileExists(atPath: source.path) }) else {
            throw ObjectStoreError(.notFound, "no object '\(key)' in \(location)")
        }
        try await FileCopy.copy(from: source, to: file, progress: progress)
    }

    public func put(_ data: Data, at key: String) async throws {
        let target = try url(for: key)
        try await BlockingIO.run { try FileCopy.writeAtomically(data, to: target) }
    }

    public func get(_ key: String) async throws -> Data {
        let source = try url(for: key)
        guard let data = try await BlockingIO.run({ FileManager.default.contents(atPath: source.path) }) else {
            throw ObjectStoreError(.notFound, "no object '\(key)' in \(location)")
        }
        return data
    }

    public func head(_ key: String) async throws -> ObjectInfo? {
        let source = try url(for: key)
        return try await BlockingIO.run {
            // Only files are objects: a directory is the common prefix of some.
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: source.path),
                  attributes[.type] as? FileAttributeType == .typeRegular else { return nil }
            let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
            let modified = attributes[.modificationDate] as? Date
            return ObjectInfo(key: key, size: size, lastModified: modified, etag: Self.etag(size: size, modified: modified))
        }
    }

    public func delete(_ key: String) async throws {
        let target = try url(for: key)
        try await BlockingIO.run {
            // Only files are objects: a directory (the prefix of other objects) is never removed.
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: target.path, isDirectory: &isDirectory), !isDirectory.boolValue else { return }
            do {
                try FileManager.default.removeItem(at: target)
            } catch CocoaError.fileNoSuchFile {
                return
            }
        }
    }

    public func list(prefix: String) async throws -> [ObjectInfo] {
        try await BlockingIO.run { [root] in
            var objects: [ObjectInfo] = []
            // Only the directory the prefix names is walked (`bucket/logs/` → root/bucket/logs).
            let directory = prefix.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            let start = directory.isEmpty || !ObjectKey.isValid(directory) ? root : root.appendingPathComponent(directory)
            for (url, key) in try Self.files(under: start, root: root) {
                let values = try url.resourceValues(forKeys: [.isRegularFileKey, .fileSizeKey, .contentModificationDateKey])
                guard values.isRegularFile == true, key.hasPrefix(prefix), !FileCopy.isTemporary(url.lastPathComponent) else { continue }
                let size = Int64(values.fileSize ?? 0)
                objects.append(ObjectInfo(key: key, size: size, lastModified: values.contentModificationDate,
                                          etag: Self.etag(size: size, modified: values.contentModificationDate)))
            }
            return objects.sorted { $0.key < $1.key }
        }
    }

    /// A tag that changes when the file does: its size and modification time in microseconds.
    static func etag(size: Int64, modified: Date?) -> String {
        let micros = Int64(((modified?.timeIntervalSince1970 ?? 0) * 1_000_000).rounded())
        return String(size, radix: 16) + "-" + String(micros, radix: 16)
    }

    /// The file holding `key`, for readers that serve it in place.
    public func file(for key: String) throws -> URL {
        try url(for: key)
    }

    /// Removes the temporary files of unfinished writes to keys under `prefix` that `matching` accepts.
    public func abortUnfinishedUploads(prefix: String, matching: @escaping @Sendable (String) -> Bool) async throws -> Int {
        try await BlockingIO.run { [root] in
            var removed = 0
            for (url, key) in try Self.files(under: root, root: root) {
                // `dir/.name.partial-…` is an unfinished write of `dir/name`.
                guard let name = FileCopy.target(ofTemporary: url.lastPathComponent) else { continue }
                let slash = key.lastIndex(of: "/")
                let target = slash.map { String(key[...$0]) + name } ?? name
                guard target.hasPrefix(prefix), matching(target) else { continue }
                try FileManager.default.removeItem(at: url)
                removed += 1
            }
            return removed
        }
    }

    /// Every file and directory under `start`, with its key (its path relative to `root`).
    private static func files(under start: URL, root: URL) throws -> [(URL, String)] {
        guard let enumerator = FileManager.default.enumerator(at: start, includingPropertiesForKeys: [.isRegularFileKey, .fileSizeKey, .contentModificationDateKey]) else {
            return []
        }
        let rootPath = root.standardizedFileURL.path + "/"
        var files: [(URL, String)] = []
        while let url = enumerator.nextObject() as? URL {
            files.append((url, String(url.standardizedFileURL.path.dropFirst(rootPath.count))))
        }
        return files
    }
}
