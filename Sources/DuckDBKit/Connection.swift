internal import CDuckDB

/// One DuckDB connection. Not thread-safe: use it from one thread at a time, which
/// ``SerializedConnection`` guarantees by running all work on the connection's own queue.
/// Only ``interrupt()`` may be called from another thread.
public final class Connection {
    let handle: duckdb_connection
    /// The database stays open at least as long as any of its connections.
    public let database: Database
    /// The job running on this connection, set by ``SerializedConnection``; its cancellation is checked
    /// before each statement starts executing and before each chunk is fetched.
    var currentJob: JobCancellation?
    /// Statements prepared once and reused (see ``cachedStatement(_:)``).
    private var statementCache: [String: PreparedStatement] = [:]

    init(database: Database) throws {
        var connection: duckdb_connection?
        guard duckdb_connect(database.handle, &connection) == DuckDBSuccess, let connection else {
            throw DuckDBError(code: .connectFailed, message: "duckdb_connect failed")
        }
        self.handle = connection
        self.database = database
    }

    deinit {
        var handle: duckdb_connection? = self.handle
        duckdb_disconnect(&handle)
    }

    /// Interrupts the statement running on this connection, if any. Safe from any thread.
    public func interrupt() {
        duckdb_interrupt(handle)
    }

    /// Throws if the job this connection is running for has been cancelled.
    public func checkCancellation() throws {
        if let job = currentJob, job.isCancelled {
            throw DuckDBError(code: .interrupted, kind: .interrupt, message: "INTERRUPT Error: Interrupted!")
        }
    }

    /// Prepares one statement.
    public func prepare(_ sql: String) throws -> PreparedStatement {
        var statement: duckdb_prepared_statement?
        let state = duckdb_prepare(handle, sql, &statement)
        return try PreparedStatement(connection: self, handle: statement, state: state, sql: sql)
    }

    /// A statement prepared on first use and kept for this connection's lifetime, for fixed SQL
    /// run often (`BEGIN TRANSACTION READ ONLY`, `COMMIT`).
    public func cachedStatement(_ sql: String) throws -> PreparedStatement {
        if let statement = statementCache[sql] { return statement }
        let statement = try prepare(sql)
        statementCache[sql] = statement
        return statement
    }

    /// Splits `sql` into its statements with DuckDB's own parser, without preparing any of them.
    public func extractStatements(_ sql: String) throws -> ExtractedStatements {
        try ExtractedStatements(connection: self, sql: sql)
    }

    /// Runs every statement in `sql` (a script), discarding results. Honours cancellation between
    /// and during statements.
    public func execute(_ sql: String) throws {
        let statements = try extractStatements(sql)
        for index in 0..<statements.count {
            let statement = try statements.prepare(at: index)
            _ = try statement.execute(streaming: false)
        }
    }

    /// Runs one statement with positional bindings and returns its materialized result.
    @discardableResult
    public func query(_ sql: String, _ bindings: [DuckDBValue] = []) throws -> QueryResult {
        let statement = try prepare(sql)
        try statement.bind(bindings)
        return try statement.execute(streaming: false)
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN TRANSACTION")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            rollbackIfInTransaction()
            throw error
        }
    }

    /// Rolls back the open transaction if there is one. A rollback with no transaction open is
    /// not an error worth reporting: the goal state (no open transaction) already holds.
    public func rollbackIfInTransaction() {
        var result = duckdb_result()
        _ = duckdb_query(handle, "ROLLBACK", &result)
        duckdb_destroy_result(&result)
    }

    /// Creates an appender for `schema.table` (in the default catalog).
    public func appender(schema: String = "main", table: String) throws -> Appender {
        try Appender(connection: self, schema: schema, table: table)
    }

    /// Wraps a value so it can travel through concurrent code but only be used on this connection.
    func bind<Value>(_ value: Value, queue: SerialQueue) -> ConnectionBound<Value> {
        ConnectionBound(owner: ObjectIdentifier(self), queue: queue, value: value)
    }

    /// Returns the value of a ``ConnectionBound`` created for this connection.
    public func unwrap<Value>(_ bound: ConnectionBound<Value>) -> Value {
        precondition(bound.owner == ObjectIdentifier(self), "a connection-bound value was used on another connection")
        return bound.value
    }
}

@available(*, unavailable)
extension Connection: Sendable {}
