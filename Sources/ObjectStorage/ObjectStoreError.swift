/// Why an object store operation failed.
public struct ObjectStoreError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The credentials were refused (wrong key, expired token, no permission). Never retried.
        case authentication
        /// There is no such object or bucket.
        case notFound
        /// The store answered with an error that retrying did not cure.
        case server
        /// The store could not be reached, or the connection broke, on every attempt.
        case connection
        /// The request itself was wrong (a bad key or range).
        case invalidRequest
        /// Reading or writing the local file failed.
        case localFile
    }

    public let kind: Kind
    public let message: String
    /// The HTTP status, when the store answered.
    public let status: Int?
    /// The POSIX error number, for a local file failure (`ENOSPC` when the disk is full).
    public let systemError: Int32?

    public init(_ kind: Kind, _ message: String, status: Int? = nil, systemError: Int32? = nil) {
        self.kind = kind
        self.message = message
        self.status = status
        self.systemError = systemError
    }

    public var description: String { message }
}
