import DuckDBKit

/// Why a lake or dataset request was refused or failed, with a stable code for API clients.
public struct LakeError: Error, Sendable, CustomStringConvertible {
    public enum Category: Sendable {
        /// Bad input: names, types, bodies, rows (400).
        case invalidRequest
        /// Not allowed (403).
        case forbidden
        /// No such table, bucket or object (404).
        case notFound
        /// Exists already, not empty, or lost a commit race (409).
        case conflict
        /// A body over its limit (413).
        case tooLarge
        /// A range that cannot be satisfied (416).
        case badRange
        /// The lake is not open (503).
        case unavailable
        /// The engine or the store failed (500).
        case engine
    }

    public let category: Category
    public let code: String
    public let message: String
    /// For `lake_conflict`: the snapshot the write lost to.
    public var snapshotID: Int64?

    public init(_ category: Category, code: String, message: String, snapshotID: Int64? = nil) {
        self.category = category
        self.code = code
        self.message = message
        self.snapshotID = snapshotID
    }

    public var description: String { "\(code): \(message)" }

    public static func invalid(_ code: String, _ message: String) -> LakeError { LakeError(.invalidRequest, code: code, message: message) }

    static func tableNotFound(_ name: String) -> LakeError {
        LakeError(.notFound, code: "table_not_found", message: "no lake table named '\(name)'")
    }

    /// A DuckDB failure of lake work as the API reports it, with secrets and Duckling's own paths
    /// taken out of the message: errors in the statement or its input are the caller's (400), a
    /// commit that lost a race is a conflict (409), the rest the engine's (500).
    static func from(_ error: any Error, redactor: SecretRedactor, replacing paths: [String: String] = [:]) -> LakeError {
        if let lake = error as? LakeError { return lake }
        if let unavailable = error as? DatabaseUnavailable {
            return LakeError(.unavailable, code: "lake_unavailable", message: "the lake is unavailable: \(unavailable.reason)")
        }
        guard let duck = error as? DuckDBError else {
            return LakeError(.engine, code: "lake_error", message: redactor.redact(String(describing: error)))
        }
        var message = duck.message.range(of: "\n\nLINE ").map { String(duck.message[..<$0.lowerBound]) } ?? duck.message
        for (path, replacement) in paths { message = message.replacingOccurrences(of: path, with: replacement) }
        message = redactor.redact(message)
        if message.contains("Transaction conflict") || message.contains("Failed to commit DuckLake transaction") {
            return LakeError(.conflict, code: "lake_conflict", message: message)
        }
        if message.contains("unsupported type") || message.contains("Type with name") {
            return LakeError(.invalidRequest, code: "invalid_type", message: message)
        }
        if duck.kind == .permission {
            return LakeError(.forbidden, code: "permission_denied", message: message)
        }
        if duck.kind.isStatementError {
            return LakeError(.invalidRequest, code: duck.kind == .conversion || duck.kind == .invalidInput ? "invalid_rows" : "invalid_request", message: message)
        }
        return LakeError(.engine, code: "lake_error", message: message)
    }
}
