internal import CDuckDB
#if canImport(Glibc)
import Glibc
#endif

/// A prepared statement with typed positional (`$1`, `?`) and named (`$name`) parameters.
public final class PreparedStatement {
    private var handle: duckdb_prepared_statement?
    /// Not retained: the connection caches statements, and a statement must never keep its
    /// connection (and with it the database file) open. Using a statement after its connection is
    /// gone is a programming error.
    unowned let connection: Connection
    /// Kept to count this statement among the handles that keep the instance alive.
    private let database: Database
    /// The SQL text it was prepared from.
    public let sql: String

    init(connection: Connection, handle: duckdb_prepared_statement?, state: duckdb_state, sql: String) throws {
        guard state == DuckDBSuccess, handle != nil else {
            let message = handle.flatMap { duckdb_prepare_error($0) }.map { String(cString: $0) }
                ?? "Parser Error: could not prepare the statement"
            var handle = handle
            duckdb_destroy_prepare(&handle)
            throw DuckDBError(code: .prepareFailed, reportedAs: message, sql: sql)
        }
        self.handle = handle
        self.connection = connection
        self.database = connection.database
        self.sql = sql
        database.statementOpened()
    }

    deinit {
        duckdb_destroy_prepare(&handle)
        database.statementClosed()
    }

    /// DuckDB's classification of the statement (`SELECT`, `INSERT`, `ATTACH`, …).
    public var statementType: StatementType {
        StatementType(duckdb_prepared_statement_type(handle))
    }

    /// The number of parameters.
    public var parameterCount: Int { Int(duckdb_nparams(handle)) }

    /// The name of parameter `index` (1-based, as in `$1`), e.g. "1" or "name".
    public func parameterName(_ index: Int) -> String? {
        guard let name = duckdb_parameter_name(handle, idx_t(index)) else { return nil }
        defer { duckdb_free(UnsafeMutableRawPointer(mutating: name)) }
        return String(cString: name)
    }

    /// The columns the statement returns.
    public var columns: [Column] {
        let count = Int(duckdb_prepared_statement_column_count(handle))
        return (0..<count).map { index in
            let name: String
            if let raw = duckdb_prepared_statement_column_name(handle, idx_t(index)) {
                name = String(cString: raw)
                duckdb_free(UnsafeMutableRawPointer(mutating: raw))
            } else {
                name = ""
            }
            var type = duckdb_prepared_statement_column_logical_type(handle, idx_t(index))
            defer { duckdb_destroy_logical_type(&type) }
            return Column(name: name, type: type.map(LogicalType.init(handle:)) ?? .sqlNull)
        }
    }

    /// Binds positional values to `$1`, `$2`, …; the count must match.
    public func bind(_ values: [DuckDBValue]) throws {
        guard values.count == parameterCount else {
            throw DuckDBError(
                code: .bindFailed, kind: .invalidInput,
                message: "Invalid Input Error: the statement has \(parameterCount) parameters but \(values.count) values were given",
                sql: sql)
        }
        for (offset, value) in values.enumerated() {
            try bind(value, at: offset + 1)
        }
    }

    /// Binds values by parameter name (`$name`); every parameter must be given.
    public func bind(named values: [String: DuckDBValue]) throws {
        var bound = 0
        for (name, value) in values {
            var index: idx_t = 0
            guard duckdb_bind_parameter_index(handle, &index, name) == DuckDBSuccess else {
                throw DuckDBError(code: .bindFailed, kind: .invalidInput,
                                  message: "Invalid Input Error: the statement has no parameter named $\(name)", sql: sql)
            }
            try bind(value, at: Int(index))
            bound += 1
        }
        guard bound == parameterCount else {
            throw DuckDBError(
                code: .bindFailed, kind: .invalidInput,
                message: "Invalid Input Error: the statement has \(parameterCount) parameters but \(bound) were given",
                sql: sql)
        }
    }

    /// Binds one value to parameter `index` (1-based). Scalars keep their own type and DuckDB casts
    /// them; nested values take the parameter's declared type when DuckDB knows it.
    public func bind(_ value: DuckDBValue, at index: Int) throws {
        var declared = duckdb_param_logical_type(handle, idx_t(index))
        let declaredType = declared.map(LogicalType.init(handle:))
        duckdb_destroy_logical_type(&declared)
        var cValue: duckdb_value? = if value.isNested, let declaredType, declaredType.isNested {
            try value.makeCValue(as: declaredType)
        } else {
            try value.makeCValue()
        }
        defer { duckdb_destroy_value(&cValue) }
        guard duckdb_bind_value(handle, idx_t(index), cValue) == DuckDBSuccess else {
            throw DuckDBError(code: .bindFailed, kind: .invalidInput,
                              message: "Invalid Input Error: could not bind parameter \(index)", sql: sql)
        }
    }

    public func clearBindings() {
        _ = duckdb_clear_bindings(handle)
    }

    /// Executes the statement. A streaming result computes chunks as they are fetched and keeps the
    /// connection busy until it is released; a materialized one is complete when this returns.
    ///
    /// Cancellation of the connection's current job is checked after DuckDB has created the pending
    /// query (which resets DuckDB's own interrupt flag), so an interruption can never be lost.
    public func execute(streaming: Bool = true) throws -> QueryResult {
        var pending: duckdb_pending_result?
        let state = streaming
            ? duckdb_pending_prepared_streaming(handle, &pending)
            : duckdb_pending_prepared(handle, &pending)
        defer { duckdb_destroy_pending(&pending) }
        guard state == DuckDBSuccess, pending != nil else {
            let message = pending.flatMap { duckdb_pending_error($0) }.map { String(cString: $0) }
                ?? "could not start the statement"
            throw DuckDBError(code: .executionFailed, reportedAs: message, sql: sql)
        }
        try connection.checkCancellation()
        // The result of a failed task loses the error's type, which the pending result's message keeps.
        if let pending, Self.runTasks(of: pending) == DUCKDB_PENDING_ERROR {
            let message = duckdb_pending_error(pending).map { String(cString: $0) } ?? "the statement failed"
            throw DuckDBError(code: .executionFailed, reportedAs: message, sql: sql)
        }
        var result = duckdb_result()
        guard duckdb_execute_pending(pending, &result) == DuckDBSuccess else {
            let error = DuckDBError.fromEngine(
                code: .executionFailed,
                type: duckdb_result_error_type(&result),
                message: duckdb_result_error(&result).map { String(cString: $0) },
                sql: sql)
            duckdb_destroy_result(&result)
            throw error
        }
        return QueryResult(result: result, connection: connection, sql: sql)
    }

    /// Runs the statement's tasks on this thread until its result is ready (or blocked, which
    /// `duckdb_execute_pending` waits out) or it failed; returns the last state. DuckDB's own loop
    /// spins while the remaining tasks run on its worker threads; this one yields for up to 200 µs
    /// (short waits, as in small queries, stay as quick as spinning), then sleeps 50 µs doubling to
    /// 800 µs, so a statement waiting long for other threads does not take a core from them.
    private static func runTasks(of pending: duckdb_pending_result) -> duckdb_pending_state {
        var idleSince: UInt64?
        var sleeps = 0
        while true {
            switch duckdb_pending_execute_task(pending) {
            case DUCKDB_PENDING_RESULT_NOT_READY:
                idleSince = nil
                sleeps = 0
            case DUCKDB_PENDING_NO_TASKS_AVAILABLE:
                let now = monotonicNanoseconds()
                if now - (idleSince ?? now) < 200_000 {
                    if idleSince == nil { idleSince = now }
                    sched_yield()
                } else {
                    usleep(useconds_t(50 << min(sleeps, 4)))
                    sleeps += 1
                }
            case let state:
                return state
            }
        }
    }

    private static func monotonicNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// Executes the statement and returns the number of rows it changed (for DML).
    @discardableResult
    public func run() throws -> Int {
        try execute(streaming: false).rowsChanged
    }
}

@available(*, unavailable)
extension PreparedStatement: Sendable {}

/// A result column: its name and DuckDB type.
public struct Column: Sendable, Hashable {
    public let name: String
    public let type: LogicalType

    public init(name: String, type: LogicalType) {
        self.name = name
        self.type = type
    }
}
