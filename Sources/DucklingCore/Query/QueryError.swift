/// Why a query was refused or failed, with a stable code for API clients.
public struct QueryError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure, which decides the HTTP status.
    public enum Category: Sendable {
        /// Bad SQL or parameters (400).
        case invalidRequest
        /// Not allowed: writes, files, network, settings (403).
        case forbidden
        /// The database does not exist (404).
        case notFound
        /// Too many queries running and waiting (429).
        case overloaded
        /// The database is closed or being restored (503).
        case unavailable
        /// The time limit passed; the query was stopped (504).
        case timeout
        /// The caller went away; the query was stopped.
        case cancelled
        /// The engine failed (500).
        case engine
    }

    public let category: Category
    /// A stable machine-readable code, e.g. `read_only`, `invalid_sql`, `query_timeout`.
    public let code: String
    public let message: String
    /// For ``Category/unavailable`` and ``Category/overloaded``: when to retry.
    public var retryAfterSeconds: Int?

    public init(_ category: Category, code: String, message: String, retryAfterSeconds: Int? = nil) {
        self.category = category
        self.code = code
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "\(code): \(message)" }

    /// The same error with secrets taken out of its message.
    func redacted(by redactor: SecretRedactor) -> QueryError {
        QueryError(category, code: code, message: redactor.redact(message), retryAfterSeconds: retryAfterSeconds)
    }
}
