public import Foundation
import DuckDBKit

/// What DuckDB reports about one database's instance: memory by tag, spill files, block use.
public struct EngineStatistics: Sendable, Codable {
    public struct MemoryTag: Sendable, Codable {
        public let tag: String
        public let memoryBytes: Int64
        public let temporaryBytes: Int64

        enum CodingKeys: String, CodingKey {
            case tag
            case memoryBytes = "memory_bytes"
            case temporaryBytes = "temporary_bytes"
        }
    }

    public struct TemporaryFile: Sendable, Codable {
        public let path: String
        public let bytes: Int64
    }

    public let memory: [MemoryTag]
    public let temporaryFiles: [TemporaryFile]
    public let totalBlocks: Int64?
    public let freeBlocks: Int64?
    public let blockSize: Int64?

    /// Memory in use by every tag together.
    public var memoryBytes: Int64 { memory.reduce(0) { $0 + $1.memoryBytes } }

    enum CodingKeys: String, CodingKey {
        case memory
        case temporaryFiles = "temporary_files"
        case totalBlocks = "total_blocks"
        case freeBlocks = "free_blocks"
        case blockSize = "block_size"
    }
}

extension ManagedDatabase {
    /// Reads `duckdb_memory()`, `duckdb_temporary_files()` and `pragma_database_size()` on a
    /// pooled connection.
    public func engineStatistics() async throws -> EngineStatistics {
        try await withReader { connection in
            try await connection.run { duckdb in
                let memory = try duckdb.query("SELECT tag, memory_usage_bytes, temporary_storage_bytes FROM duckdb_memory() ORDER BY tag").rows().map {
                    EngineStatistics.MemoryTag(tag: $0[0].text ?? "", memoryBytes: Self.int64($0[1]), temporaryBytes: Self.int64($0[2]))
                }
                let files = try duckdb.query("SELECT path, size FROM duckdb_temporary_files() ORDER BY path").rows().map {
                    EngineStatistics.TemporaryFile(path: ($0[0].text.map { ($0 as NSString).lastPathComponent }) ?? "", bytes: Self.int64($0[1]))
                }
                let size = try duckdb.query("""
                    SELECT total_blocks, free_blocks, block_size FROM pragma_database_size() WHERE database_name = current_database()
                    """).rows().first
                return EngineStatistics(memory: memory, temporaryFiles: files, totalBlocks: size.map { Self.int64($0[0]) },
                                        freeBlocks: size.map { Self.int64($0[1]) }, blockSize: size.map { Self.int64($0[2]) })
            }
        }
    }

    private static func int64(_ value: DuckDBValue) -> Int64 {
        switch value {
        case .bigint(let n): n
        case .integer(let n): Int64(n)
        case .ubigint(let n): Int64(clamping: n)
        case .hugeint(let n): Int64(clamping: n)
        default: 0
        }
    }
}
