/// Why a backup, verification or restore did not happen. The message says what to do.
public struct BackupError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// Backups are not configured the way this needs (no S3, no key).
        case configuration
        /// No such backup.
        case notFound
        /// The backup's bytes do not match its manifest or fail authentication.
        case corrupt
        /// The key or passphrase does not open this backup.
        case wrongKey
        /// Written by a newer DuckDB or Duckling than this one.
        case unsupported
        /// Not enough free disk space.
        case noSpace
        /// A backup or restore of this database is already running.
        case busy
        /// The object store failed.
        case storage
        /// Reading or writing local files failed.
        case io
        /// The copy opened but does not hold what the manifest says.
        case verification
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
