public import Foundation

/// A thin owner of a POSIX file descriptor with error-checked reads, writes and fsync.
public struct FileDescriptor: Sendable {
    public let raw: Int32
    let path: String

    public static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws -> FileDescriptor {
        let raw = Foundation.open(path, flags, mode)
        guard raw >= 0 else { throw failure("cannot open", path) }
        return FileDescriptor(raw: raw, path: path)
    }

    public func close() {
        _ = Foundation.close(raw)
    }

    /// Reads up to `buffer.count` bytes; 0 at the end of the file.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = Foundation.read(raw, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR { throw Self.failure("cannot read", path) }
        }
    }

    /// Reads until `buffer` is full or the file ends; returns the bytes read.
    public func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var total = 0
        while total < buffer.count {
            let count = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[total...]))
            if count == 0 { break }
            total += count
        }
        return total
    }

    /// Reads up to `count` bytes at `offset` without moving the file position.
    public func read(count: Int, at offset: Int64) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var total = 0
        while total < count {
            let got = bytes.withUnsafeMutableBytes { buffer in
                let rest = UnsafeMutableRawBufferPointer(rebasing: buffer[total...])
                return pread(raw, rest.baseAddress, rest.count, off_t(offset) + off_t(total))
            }
            if got < 0 {
                if errno == EINTR { continue }
                throw Self.failure("cannot read", path)
            }
            if got == 0 { break }
            total += got
        }
        bytes.removeLast(count - total)
        return bytes
    }

    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            let written = Foundation.write(raw, rest.baseAddress, rest.count)
            if written < 0 {
                if errno == EINTR { continue }
                throw Self.failure("cannot write", path)
            }
            offset += written
        }
    }

    public func sync() throws {
        guard fsync(raw) == 0 else { throw Self.failure("cannot fsync", path) }
    }

    public func size() throws -> Int64 {
        var info = stat()
        guard fstat(raw, &info) == 0 else { throw Self.failure("cannot stat", path) }
        return Int64(info.st_size)
    }

    static func failure(_ what: String, _ path: String) -> ObjectStoreError {
        let code = errno
        let reason = String(cString: strerror(code))
        return ObjectStoreError(.localFile, "\(what) \(path): \(reason)", systemError: code)
    }
}
