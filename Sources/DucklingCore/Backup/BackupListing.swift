public import Foundation

/// One backup as `GET /api/backups` and `duckling backup list` show it.
public struct BackupListing: Sendable, Equatable {
    public enum Location: String, Sendable {
        case local, s3
    }

    public let name: String
    public let location: Location
    /// The local directory's name, or the S3 object key.
    public let key: String
    public let size: Int64
    public let createdAt: Date
    public let verified: Bool
}

/// What a restore starts from.
public enum RestoreSource: Sendable, Equatable {
    case latestLocal
    case local(name: String)
    case s3(key: String)
}

/// How far a long backup step has come, for progress displays.
public struct BackupProgress: Sendable {
    public let phase: String
    public let bytes: Int64
    public let total: Int64
}

public typealias BackupProgressHandler = @Sendable (BackupProgress) -> Void
