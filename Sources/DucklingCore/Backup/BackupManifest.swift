public import Foundation

/// `manifest.json`: written last, it is what makes a backup exist (DESIGN.md §7). It describes the
/// database copy and how to check it; it never holds a key.
public struct BackupManifest: Codable, Sendable, Equatable {
    public struct TableCount: Codable, Sendable, Equatable {
        public let schema: String
        public let table: String
        public let rows: Int64
    }

    public struct WatermarkEntry: Codable, Sendable, Equatable {
        public let dataset: String
        public let subTable: String
        public let value: String

        enum CodingKeys: String, CodingKey {
            case dataset, value
            case subTable = "sub_table"
        }
    }

    public struct Encryption: Codable, Sendable, Equatable {
        public let scheme: String
        public let algorithm: String
        public let format: Int
        public let chunkSize: Int
        public let keyDerivation: String

        enum CodingKeys: String, CodingKey {
            case scheme, algorithm, format
            case chunkSize = "chunk_size"
            case keyDerivation = "key_derivation"
        }
    }

    /// The stored object of an S3 backup (possibly encrypted), as uploaded.
    public struct StoredObject: Codable, Sendable, Equatable {
        public let key: String
        public let size: Int64
    }

    public static let currentFormat = 1

    public var format = BackupManifest.currentFormat
    public var databaseID: String
    public var backupID: String
    public var createdAt: Date
    public var duckdbVersion: String
    public var storageVersion: UInt64
    /// The database file's name inside the backup.
    public var file: String
    public var size: Int64
    public var sha256: String
    public var tables: [TableCount]
    public var watermarks: [WatermarkEntry]
    public var verifiedAt: Date?
    public var encryption: Encryption?
    public var object: StoredObject?

    enum CodingKeys: String, CodingKey {
        case format, file, size, sha256, tables, watermarks, encryption, object
        case databaseID = "database_id"
        case backupID = "backup_id"
        case createdAt = "created_at"
        case duckdbVersion = "duckdb_version"
        case storageVersion = "storage_version"
        case verifiedAt = "verified_at"
    }

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    public func encoded() throws -> Data {
        try Self.encoder().encode(self)
    }

    public static func decode(_ data: Data, from location: String) throws -> BackupManifest {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let manifest: BackupManifest
        do {
            manifest = try decoder.decode(BackupManifest.self, from: data)
        } catch {
            throw BackupError(.corrupt, "the manifest at \(location) is not valid: \(error)")
        }
        guard manifest.format <= currentFormat else {
            throw BackupError(.unsupported, "the manifest at \(location) has format \(manifest.format), newer than this Duckling reads")
        }
        return manifest
    }
}
