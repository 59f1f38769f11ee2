internal import CDuckDB

/// An error reported by DuckDB, or by DuckDBKit when it cannot use a DuckDB result.
///
/// `description` holds the code and DuckDB's message only: the SQL stays in ``sql`` because
/// statements (an `ATTACH` with a connection string, say) can carry secrets.
public struct DuckDBError: Error, Sendable, CustomStringConvertible {
    /// What DuckDBKit was doing when the error happened.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String {
            case openFailed, connectFailed, prepareFailed, bindFailed, executionFailed
            case fetchFailed, appendFailed, unsupportedType, invalidValue, interrupted
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        public static let openFailed = Code(.openFailed)
        public static let connectFailed = Code(.connectFailed)
        public static let prepareFailed = Code(.prepareFailed)
        public static let bindFailed = Code(.bindFailed)
        public static let executionFailed = Code(.executionFailed)
        public static let fetchFailed = Code(.fetchFailed)
        public static let appendFailed = Code(.appendFailed)
        public static let unsupportedType = Code(.unsupportedType)
        public static let invalidValue = Code(.invalidValue)
        /// The statement was interrupted (cancelled task, time limit, or `Connection.interrupt()`).
        public static let interrupted = Code(.interrupted)

        public var description: String { base.rawValue }
    }

    /// DuckDB's own error class (`duckdb_error_type`): parser, binder, permission, interrupt, …
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }

        public static let unknown = Kind(rawValue: Int(DUCKDB_ERROR_INVALID.rawValue))
        public static let outOfRange = Kind(rawValue: Int(DUCKDB_ERROR_OUT_OF_RANGE.rawValue))
        public static let conversion = Kind(rawValue: Int(DUCKDB_ERROR_CONVERSION.rawValue))
        public static let transaction = Kind(rawValue: Int(DUCKDB_ERROR_TRANSACTION.rawValue))
        public static let catalog = Kind(rawValue: Int(DUCKDB_ERROR_CATALOG.rawValue))
        public static let parser = Kind(rawValue: Int(DUCKDB_ERROR_PARSER.rawValue))
        public static let syntax = Kind(rawValue: Int(DUCKDB_ERROR_SYNTAX.rawValue))
        public static let binder = Kind(rawValue: Int(DUCKDB_ERROR_BINDER.rawValue))
        public static let constraint = Kind(rawValue: Int(DUCKDB_ERROR_CONSTRAINT.rawValue))
        public static let io = Kind(rawValue: Int(DUCKDB_ERROR_IO.rawValue))
        public static let interrupt = Kind(rawValue: Int(DUCKDB_ERROR_INTERRUPT.rawValue))
        public static let fatal = Kind(rawValue: Int(DUCKDB_ERROR_FATAL.rawValue))
        public static let `internal` = Kind(rawValue: Int(DUCKDB_ERROR_INTERNAL.rawValue))
        public static let invalidInput = Kind(rawValue: Int(DUCKDB_ERROR_INVALID_INPUT.rawValue))
        public static let outOfMemory = Kind(rawValue: Int(DUCKDB_ERROR_OUT_OF_MEMORY.rawValue))
        public static let permission = Kind(rawValue: Int(DUCKDB_ERROR_PERMISSION.rawValue))
        public static let parameterNotResolved = Kind(rawValue: Int(DUCKDB_ERROR_PARAMETER_NOT_RESOLVED.rawValue))
        public static let parameterNotAllowed = Kind(rawValue: Int(DUCKDB_ERROR_PARAMETER_NOT_ALLOWED.rawValue))
        public static let network = Kind(rawValue: Int(DUCKDB_ERROR_NETWORK.rawValue))
        public static let http = Kind(rawValue: Int(DUCKDB_ERROR_HTTP.rawValue))
        public static let missingExtension = Kind(rawValue: Int(DUCKDB_ERROR_MISSING_EXTENSION.rawValue))

        init(_ type: duckdb_error_type) { self.rawValue = Int(type.rawValue) }

        /// True for errors in the statement itself (syntax, names, types), as opposed to the engine.
        public var isStatementError: Bool {
            [.parser, .syntax, .binder, .catalog, .conversion, .outOfRange, .invalidInput,
             .parameterNotResolved, .parameterNotAllowed, .constraint].contains(self)
        }

        public var description: String { "duckdb_error_type(\(rawValue))" }
    }

    public let code: Code
    public let kind: Kind
    /// DuckDB's message, unchanged.
    public let message: String
    /// The statement that failed, if any. Never part of `description`.
    public let sql: String?

    public init(code: Code, kind: Kind = .unknown, message: String, sql: String? = nil) {
        self.code = code
        self.kind = kind
        self.message = message
        self.sql = sql
    }

    /// The code and DuckDB's message without its "LINE n: …" excerpt of the statement.
    public var description: String {
        let summary = message.range(of: "\n\nLINE ").map { String(message[..<$0.lowerBound]) } ?? message
        return "DuckDBError(\(code)): \(summary)"
    }

    /// An error known only by DuckDB's message text (prepare and pending errors); the kind is read
    /// from the message's "<Type> Error:" prefix.
    init(code: Code, reportedAs message: String, sql: String?) {
        let kind = Kind(message: message)
        self.init(code: kind == .interrupt ? .interrupted : code, kind: kind, message: message, sql: sql)
    }

    /// An interruption is reported by DuckDB as an error of kind `.interrupt`; this normalises the code.
    static func fromEngine(code: Code, type: duckdb_error_type, message: String?, sql: String?) -> DuckDBError {
        let kind = Kind(type)
        return DuckDBError(
            code: kind == .interrupt ? .interrupted : code,
            kind: kind,
            message: message ?? "unknown DuckDB error",
            sql: sql
        )
    }
}
