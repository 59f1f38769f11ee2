import DuckDBKit
import Foundation
import ObjectStorage

/// The storage version in a DuckDB database file's main header (bytes 8–11 `DUCK`, then the
/// version as a little-endian UInt64), read without opening the database.
enum DatabaseFileHeader {
    static func storageVersion(of file: URL) throws -> UInt64 {
        let descriptor = try FileDescriptor.open(file.path, flags: O_RDONLY)
        defer { descriptor.close() }
        let bytes = try descriptor.read(count: 20, at: 0)
        guard bytes.count == 20, Array(bytes[8..<12]) == Array("DUCK".utf8) else {
            throw BackupError(.corrupt, "\(file.lastPathComponent) is not a DuckDB database file")
        }
        return bytes[12..<20].reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// The storage version this DuckDB writes, and so the newest it reads (see ``supported``).
    static func supportedVersion() async throws -> UInt64 {
        try await BlockingIO.run { try supported.get() }
    }

    /// Learned once from a file this DuckDB creates.
    private static let supported: Result<UInt64, any Error> = Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("duckling-storage-probe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("probe.db")
        do {
            let database = try Database(path: file.path, configuration: DatabaseConfiguration(allowsExternalAccess: false))
            try database.connect().execute("CREATE TABLE probe (x INTEGER); CHECKPOINT")
        }
        return try storageVersion(of: file)
    }
}
