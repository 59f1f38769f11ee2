public import Foundation

/// Copying files durably: into a temporary name beside the target, fsync, rename, fsync the
/// directory. A crash leaves at most a temporary file, which ``isTemporary(_:)`` recognises.
public enum FileCopy {
    /// The buffer size for streaming copies.
    public static let chunkSize = 4 << 20

    static let temporaryMarker = ".partial-"

    /// Whether `name` is a temporary file of an unfinished copy.
    public static func isTemporary(_ name: String) -> Bool {
        name.hasPrefix(".") && name.contains(temporaryMarker)
    }

    /// The name of the file an unfinished copy was writing (`.name.partial-1a2b3c4d` → `name`),
    /// or nil when `name` is not a temporary file.
    public static func target(ofTemporary name: String) -> String? {
        guard isTemporary(name), let marker = name.range(of: temporaryMarker, options: .backwards) else { return nil }
        return String(name[name.index(after: name.startIndex)..<marker.lowerBound])
    }

    /// A temporary path beside `target`, recognised by ``isTemporary(_:)``.
    public static func temporaryURL(beside target: URL) -> URL {
        target.deletingLastPathComponent()
            .appendingPathComponent(".\(target.lastPathComponent)\(temporaryMarker)\(UUID().uuidString.prefix(8))")
    }

    /// Copies `source` to `target` durably. `observe` sees every chunk read (to hash it);
    /// `progress` the bytes copied so far. Returns the bytes copied.
    @discardableResult
    public static func copy(from source: URL, to target: URL,
                            observe: (@Sendable (UnsafeRawBufferPointer) -> Void)? = nil,
                            progress: (@Sendable (Int64) -> Void)? = nil) async throws -> Int64 {
        try await BlockingIO.run {
            try copySync(from: source, to: target, observe: observe, progress: progress)
        }
    }

    static func copySync(from source: URL, to target: URL,
                         observe: (@Sendable (UnsafeRawBufferPointer) -> Void)?,
                         progress: (@Sendable (Int64) -> Void)?) throws -> Int64 {
        let input = try FileDescriptor.open(source.path, flags: O_RDONLY)
        defer { input.close() }
        var copied: Int64 = 0
        try writeDurably(to: target) { output in
            var buffer = [UInt8](repeating: 0, count: chunkSize)
            while true {
                let count = try buffer.withUnsafeMutableBytes { try input.read(into: $0) }
                if count == 0 { break }
                try buffer.withUnsafeBytes { bytes in
                    let chunk = UnsafeRawBufferPointer(rebasing: bytes[0..<count])
                    observe?(chunk)
                    try output.writeAll(chunk)
                }
                copied += Int64(count)
                progress?(copied)
            }
        }
        return copied
    }

    /// Runs `body` on a new temporary file beside `target`, then fsyncs it and renames it over
    /// `target`; on any failure the temporary file is removed and `target` is left as it was.
    public static func writeDurably(to target: URL, _ body: (FileDescriptor) throws -> Void) throws {
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temporary = temporaryURL(beside: target)
        do {
            let output = try FileDescriptor.open(temporary.path, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600)
            defer { output.close() }
            try body(output)
            try output.sync()
            try rename(temporary, to: target)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    /// Writes `data` to `target` through a temporary file, fsync and rename.
    public static func writeAtomically(_ data: Data, to target: URL) throws {
        try writeDurably(to: target) { output in
            try data.withUnsafeBytes { try output.writeAll($0) }
        }
    }

    /// Renames `source` over `target` and makes the rename durable.
    public static func rename(_ source: URL, to target: URL) throws {
        guard Foundation.rename(source.path, target.path) == 0 else {
            throw ObjectStoreError(.localFile, "cannot rename \(source.lastPathComponent) to \(target.path): \(String(cString: strerror(errno)))")
        }
        try syncDirectory(target.deletingLastPathComponent())
    }

    /// Moves `source` to `target` only if nothing is at `target` (a hard link, then the source's
    /// unlink: never replaces a file that appeared meanwhile). Both must be on one file system.
    public static func moveWithoutReplacing(_ source: URL, to target: URL) throws {
        guard Foundation.link(source.path, target.path) == 0 else {
            throw ObjectStoreError(.localFile, "cannot move \(source.lastPathComponent) to \(target.path): \(String(cString: strerror(errno)))")
        }
        guard Foundation.unlink(source.path) == 0 else {
            throw ObjectStoreError(.localFile, "cannot remove \(source.path) after moving it: \(String(cString: strerror(errno)))")
        }
        try syncDirectory(target.deletingLastPathComponent())
    }

    /// fsyncs a directory, making renames and creations in it durable.
    public static func syncDirectory(_ directory: URL) throws {
        let descriptor = try FileDescriptor.open(directory.path, flags: O_RDONLY | O_DIRECTORY)
        defer { descriptor.close() }
        try descriptor.sync()
    }
}
