import DucklingCore
import Foundation
import Hummingbird

/// One backup in `GET /api/backups` (the seed's fields, plus `verified`).
struct BackupItem: Codable {
    let name: String
    let location: String
    let size: Int64
    let lastModified: Date
    let key: String
    let verified: Bool

    init(_ listing: BackupListing) {
        self.name = listing.name
        self.location = listing.location.rawValue
        self.size = listing.size
        self.lastModified = listing.createdAt
        self.key = listing.key
        self.verified = listing.verified
    }
}

/// `GET /api/backups`.
struct BackupListResponse: ResponseEncodable {
    let success = true
    let backups: [BackupItem]
    /// Why the S3 side could not be listed, when it could not.
    var s3Error: String?

    enum CodingKeys: String, CodingKey {
        case success, backups
        case s3Error = "s3_error"
    }
}

/// `POST /automation/backup`, `POST /api/backups/s3`.
struct BackupCreatedResponse: ResponseEncodable {
    let success = true
    let message: String
    let backup: String
    var key: String?
}

/// `POST /automation/restore`, `POST /api/backups/s3/restore`.
struct RestoreResponse: ResponseEncodable {
    let success = true
    let message: String
    let backup: String
}

/// `POST /api/backups/verify`.
struct VerifyResponse: ResponseEncodable {
    struct Item: Codable {
        let name: String
        let location: String
        let verified: Bool
        let error: String?
    }

    let success: Bool
    let results: [Item]
}

/// The body of `POST /api/backups/s3/restore`.
struct S3RestoreRequest: Decodable {
    let key: String
}

/// The optional body of `POST /api/backups/verify`: a local backup's name or an S3 key.
struct VerifyRequest: Decodable {
    var name: String?
    var key: String?
}
