/// Where and how a database is backed up (DESIGN.md §7).
public struct BackupSettings: Sendable {
    public var localDirectory: String
    public var keepLast: Int = 7
    public var retentionDays: Int
    public var s3: S3Settings?

    public init(localDirectory: String, retentionDays: Int) {
        self.localDirectory = localDirectory
        self.retentionDays = retentionDays
    }
}

/// An S3-compatible bucket for backups.
public struct S3Settings: Sendable {
    public enum Encryption: String, Sendable, CaseIterable {
        case none
        case clientAES256 = "client-aes256"
    }

    public var bucket: String
    /// Key prefix inside the bucket, without leading or trailing slashes.
    public var prefix: String
    public var endpoint: String
    public var region: String = "us-east-1"
    public var accessKey: Secret?
    public var secretKey: Secret?
    public var sessionToken: Secret?
    public var pathStyle = false
    public var encryption: Encryption = .clientAES256
    /// Base64 of 32 random bytes (`DUCKLING_BACKUP_KEY`).
    public var encryptionKey: Secret?
    /// A passphrase turned into a key with scrypt, when no key is given.
    public var passphrase: Secret?
    /// Between scheduled S3 backups (`interval_hours`, or a duration).
    public var intervalSeconds: Int = 24 * 3600
    public var keepLast: Int = 14

    public init(bucket: String, prefix: String, endpoint: String) {
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint = endpoint
    }
}
