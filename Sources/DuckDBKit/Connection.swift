internal import CDuckDB

/// One DuckDB connection. Not thread-safe: use it from one thread at a time, which
/// ``SerializedConnection`` guarantees by running all work on the connection's own queue.
///
/// ``close()`` (or the last reference going) clears the statement cache and disconnects; every
/// later use throws. Statements prepared here do not keep the connection alive.
public final class Connection {
    private var raw: duckdb_connection?
    /// The database object stays around at least as long as any of its connections.
    public let database: Database
    /// The job running on this connection, set by ``SerializedConnection``; its cancellation is checked
    /// before each statement starts executing and before each chunk is fetched.
    var currentJob: JobCancellation?
    /// Statements prepared once and reused (see ``cachedStatement(_:)``).
    private var statementCache: [String: PreparedStatement] = [:]
    /// Caller statements kept by their SQL text, least recently used first out (see ``cachedQuery(_:)``).
    private var queryCache: [String: (statement: PreparedStatement, lastUse: UInt64)] = [:]
    private var queryCacheClock: UInt64 = 0

    init(database: Database) throws {
        self.raw = try database.openConnection()
        self.database = database
    }

    deinit {
        close()
    }

    /// The DuckDB handle; throws once the connection is closed.
    var handle: duckdb_connection {
        get throws {
            guard let raw else { throw DuckDBError(code: .connectFailed, message: "the connection is closed") }
            return raw
        }
    }

    /// DuckDB's id of this connection (unique within its database), which table functions see.
    public var connectionID: UInt64 {
        get throws {
            var context: duckdb_client_context?
            duckdb_connection_get_client_context(try handle, &context)
            guard context != nil else { throw DuckDBError(code: .connectFailed, message: "the connection has no client context") }
            defer { duckdb_destroy_client_context(&context) }
            return UInt64(duckdb_client_context_get_connection_id(context))
        }
    }

    /// Drops the cached statements, then disconnects. Closing twice changes nothing. Statements and
    /// results still held elsewhere fail from then on.
    public func close() {
        guard raw != nil else { return }
        statementCache.removeAll()
        queryCache.removeAll()
        duckdb_disconnect(&raw)
        raw = nil
        database.connectionClosed()
    }

    /// Throws if the job this connection is running for has been cancelled, and interrupts DuckDB
    /// too: a statement started just before the check has its tasks scheduled on DuckDB's threads
    /// already (its start cleared any earlier interrupt), and left alone they would run to the end,
    /// with the connection's next statement waiting for them. DuckDB clears the flag when the next
    /// statement starts, after those tasks stopped.
    public func checkCancellation() throws {
        guard let raw else { throw DuckDBError(code: .connectFailed, message: "the connection is closed") }
        if let job = currentJob, job.isCancelled {
            duckdb_interrupt(raw)
            throw DuckDBError(code: .interrupted, kind: .interrupt, message: "INTERRUPT Error: Interrupted!")
        }
    }

    /// Prepares one statement.
    public func prepare(_ sql: String) throws -> PreparedStatement {
        var statement: duckdb_prepared_statement?
        let state = duckdb_prepare(try handle, sql, &statement)
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

    /// The statement kept for `sql` by ``cacheQuery(_:_:capacity:)``, or nil; marks it as just used.
    /// DuckDB binds a prepared statement again by itself when a table it reads has changed since,
    /// so a kept statement answers with the table's current columns.
    public func cachedQuery(_ sql: String) -> PreparedStatement? {
        guard var entry = queryCache[sql] else { return nil }
        queryCacheClock &+= 1
        entry.lastUse = queryCacheClock
        queryCache[sql] = entry
        return entry.statement
    }

    /// Keeps `statement` for `sql`, dropping the least recently used one when `capacity` are kept.
    /// A capacity of 0 keeps nothing.
    public func cacheQuery(_ sql: String, _ statement: PreparedStatement, capacity: Int) {
        guard capacity > 0 else { return }
        if queryCache[sql] == nil, queryCache.count >= capacity,
           let oldest = queryCache.min(by: { $0.value.lastUse < $1.value.lastUse })?.key {
            queryCache.removeValue(forKey: oldest)
        }
        queryCacheClock &+= 1
        queryCache[sql] = (statement, queryCacheClock)
    }

    /// Forgets the statement kept for `sql`.
    public func evictQuery(_ sql: String) {
        queryCache.removeValue(forKey: sql)
    }

    /// How many caller statements are kept.
    public var cachedQueryCount: Int { queryCache.count }

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
        guard let raw else { return }
        var result = duckdb_result()
        _ = duckdb_query(raw, "ROLLBACK", &result)
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
