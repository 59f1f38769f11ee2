public import DuckDBKit
public import Logging
import ObjectStorage
import Synchronization

/// Runs caller SQL read-only against a database (DESIGN.md §6): the gate, binds, a time limit that
/// really stops the query, a bound on running and waiting queries, and streamed results.
///
/// Each query has one ``Interrupter``: its time limit, a client that leaves, and a cancelled task
/// all fire it, and every stage (waiting for a connection, executing, streaming) honours it.
public final class QueryService: Sendable {
    public let statistics: QueryStatistics
    /// Each database's circuit breaker, by id.
    public let breakers: [String: CircuitBreaker]
    /// How each database's statement caches are used, by id (not the lake's: see ``cachesStatements(_:)``).
    public let statementCaches: [String: StatementCacheCounters]
    private let registry: DatabaseRegistry
    /// The lake, queried as the database `lake`.
    private let lake: Lake?
    private let settings: QuerySettings
    /// Writes Parquet results with DuckDB's own writer.
    private let exporter: ParquetExporter
    private let logger: Logger

    /// Queries are counted and timed in ``statistics`` (which `/metrics` reads when scraped).
    public init(registry: DatabaseRegistry, lake: Lake? = nil, settings: QuerySettings, parquet: ParquetSettings = ParquetSettings(), logger: Logger) {
        self.exporter = ParquetExporter(settings: parquet)
        self.registry = registry
        self.lake = lake
        self.settings = settings
        self.logger = logger
        self.statistics = QueryStatistics(slowThresholdMilliseconds: settings.slowQueryMilliseconds, enabled: settings.statistics)
        let ids = registry.databases.map(\.id) + (lake == nil ? [] : [Lake.databaseID])
        self.statementCaches = Dictionary(uniqueKeysWithValues: registry.databases.map {
            ($0.id, StatementCacheCounters(capacityPerConnection: settings.statementCacheSize))
        })
        self.breakers = Dictionary(uniqueKeysWithValues: ids.map {
            ($0, CircuitBreaker(threshold: settings.breakerFailures, cooldown: .seconds(settings.breakerCooldownSeconds)))
        })
    }

    /// Starts a query and returns its body once the first part of it is ready, so every error
    /// that can be known before the first byte (bad SQL, refusal, timeout, overload) is thrown
    /// here as a ``QueryError``. Firing `interrupter` (say, when the client leaves) stops the
    /// query at whatever stage it is.
    public func start(
        _ request: QueryRequest, database databaseID: String, format: ResultFormat,
        interrupter: Interrupter = Interrupter()
    ) async throws -> any ResultBody {
        guard format == .parquet else {
            return try await open(request, database: databaseID, interrupter: interrupter) { try format.makeEncoder(for: $0) }
        }
        // The export outlives the query (the writer still has rows to write when the query ends),
        // so it has a deadline of its own, and at most as many run at once as queries may.
        let deadline = ContinuousClock.now + .milliseconds(max(timeLimit(of: request), 1))
        let export: ParquetExport
        do {
            export = try await BlockingIO.run { [exporter, settings] in try exporter.prepare(limit: settings.maxConcurrent) }
        } catch {
            throw QueryError.from(error)
        }
        let chunks = Mutex<ChunkStream?>(nil)
        let query: QueryStream
        do {
            // One chunk in the first step: the writer only starts reading once this returns.
            query = try await open(request, database: databaseID, interrupter: interrupter, firstChunks: 1, chunksPerStep: 16) { result in
                // Parquet, like DuckDB's own COPY, wants distinct names: `id, id` is written `id, id_1`.
                let stream = try ChunkStream(columns: ParquetExporter.distinctNames(result.columns),
                                             readableBy: [export.connection.connectionID], capacity: 4)
                chunks.withLock { $0 = stream }
                return ParquetChunkEncoder(stream: stream)
            }
        } catch {
            export.abandon()
            throw error
        }
        guard let stream = chunks.withLock({ $0 }) else {
            export.abandon()
            throw QueryError(.engine, code: "query_failed", message: "the Parquet export did not start")
        }
        do {
            return try await ParquetStream.start(query: query, chunks: stream, export: export, interrupter: interrupter, deadline: deadline)
        } catch let failure as QueryError {
            // The lake's catalog URL (a PostgreSQL password) can appear in DuckDB's messages.
            if databaseID == Lake.databaseID, let lake { throw failure.redacted(by: lake.redactor) }
            throw failure
        }
    }

    /// Starts a query whose chunks `makeEncoder`'s encoder turns into the body; the first step
    /// reads at most `firstChunks` chunks, later ones `chunksPerStep`.
    private func open(
        _ request: QueryRequest, database databaseID: String, interrupter: Interrupter,
        firstChunks: Int = .max, chunksPerStep: Int = .max,
        makeEncoder: @escaping @Sendable (QueryResult) throws -> any ResultEncoder
    ) async throws -> QueryStream {
        let started = ContinuousClock.now
        // An unknown id is refused before anything is recorded: no statistics or metric series for it.
        let database = try target(databaseID)
        let breaker = breakers[databaseID]
        let admission: CircuitBreaker.Admission
        do {
            admission = try breaker?.admit(database: databaseID) ?? .unchecked
        } catch let refusal as QueryError {
            recorder(database: databaseID, sql: request.sql, started: started, breaker: nil, admission: .unchecked)(refusal.outcome, 0)
            throw refusal
        }
        let record = recorder(database: databaseID, sql: request.sql, started: started, breaker: breaker, admission: admission)
        do {
            let timeout = timeLimit(of: request)
            guard timeout > 0 else {
                throw QueryError(.invalidRequest, code: "invalid_timeout", message: "timeout_ms must be positive")
            }
            interrupter.interrupt(at: started + .milliseconds(timeout))
            let lease = try await withTaskCancellationHandler {
                try await database.leaseReader(queueLimit: settings.maxQueued, interrupter: interrupter)
            } onCancel: {
                interrupter.interrupt(.cancelled)
            }
            do {
                let connection = lease.connection
                let gate = lease.gate
                let cacheSize = cachesStatements(databaseID) ? settings.statementCacheSize : 0
                let counters = statementCaches[databaseID]
                let (columns, first, cursor) = try await connection.run(interrupter: interrupter) { duckdb in
                    do {
                        try duckdb.cachedStatement("BEGIN TRANSACTION READ ONLY").run()
                        let result = try Self.execute(request, gate: gate, on: duckdb, cacheSize: cacheSize, counters: counters)
                        let cursor = QueryCursor(result: result, encoder: try makeEncoder(result), started: started)
                        let step = try cursor.advance(on: duckdb, budget: 1 << 16, maxChunks: firstChunks, isFirst: true)
                        // A finished cursor is dropped here, on its connection, rather than by a job queued for later.
                        return (result.columns, step, step.finished ? nil : connection.bind(cursor, to: duckdb))
                    } catch {
                        duckdb.rollbackIfInTransaction()
                        throw error
                    }
                }
                return QueryStream(columns: columns, first: first, lease: lease, cursor: cursor,
                                   interrupter: interrupter, chunksPerStep: chunksPerStep, report: record)
            } catch {
                lease.release()
                throw error
            }
        } catch {
            interrupter.cancelDeadline()
            var failure = QueryError.from(error, interruption: interrupter.reason)
            // The lake's catalog URL (a PostgreSQL password) can appear in DuckDB's messages.
            if databaseID == Lake.databaseID, let lake { failure = failure.redacted(by: lake.redactor) }
            record(failure.outcome, 0)
            throw failure
        }
    }

    /// The request's time limit in milliseconds: its own `timeout_ms` or the default, at most the maximum.
    private func timeLimit(of request: QueryRequest) -> Int {
        min(request.timeoutMilliseconds ?? settings.defaultTimeoutMilliseconds, settings.maxTimeoutMilliseconds)
    }

    private func target(_ id: String) throws -> any ReadTarget {
        if let database = registry.database(id) { return database }
        if id == Lake.databaseID, let lake { return lake }
        throw QueryError(.notFound, code: "database_not_found", message: "no database with id '\(id)'")
    }

    /// The ids caller SQL can be run against: every database, and the lake when there is one.
    public var queryableIDs: Set<String> {
        Set(registry.databases.map(\.id) + (lake == nil ? [] : [Lake.databaseID]))
    }

    /// The columns of a table or view of `database`, read by preparing a query over it.
    public func columns(of table: String, database databaseID: String) async throws -> [Column] {
        guard let database = registry.database(databaseID) else {
            throw QueryError(.notFound, code: "database_not_found", message: "no database with id '\(databaseID)'")
        }
        do {
            return try await database.withReader { connection in
                try await connection.run { try $0.prepare("SELECT * FROM main.\(SQL.quoted(table))").columns }
            }
        } catch {
            throw QueryError.from(error)
        }
    }

    /// Records a finished query in the statistics, the breaker, the metrics and the debug log.
    private func recorder(
        database: String, sql: String, started: ContinuousClock.Instant, breaker: CircuitBreaker?, admission: CircuitBreaker.Admission
    ) -> @Sendable (QueryStatistics.Outcome, Int) -> Void {
        { [statistics, logger] outcome, rows in
            let elapsed = (ContinuousClock.now - started).milliseconds
            breaker?.record(outcome == .failed ? .engineFailure : outcome == .succeeded ? .success : .neutral, admission: admission)
            statistics.record(outcome, database: database, sql: sql, milliseconds: elapsed, rows: rows)
            logger.debug("query finished", metadata: [
                "duckling.database": .string(database), "duckling.outcome": .string(outcome.rawValue),
                "duckling.elapsed_ms": .stringConvertible(elapsed),
            ])
        }
    }

    /// Whether statements of `database` are kept between queries. Not on the lake: another process
    /// may change a lake table's columns, which this instance's catalog version does not see.
    private func cachesStatements(_ database: String) -> Bool {
        database != Lake.databaseID
    }

    /// Runs caller SQL: the statement kept for its text on this connection when there is one, else
    /// the gate's (kept only once it passed and ran, and only as the caller wrote it). A kept
    /// statement whose table changed to a VARIANT column since is checked again, so the gate's
    /// rewrite of such columns applies; one that fails is dropped.
    private static func execute(
        _ request: QueryRequest, gate: ReadOnlyGate, on duckdb: Connection, cacheSize: Int, counters: StatementCacheCounters?
    ) throws -> QueryResult {
        if cacheSize > 0, let kept = duckdb.cachedQuery(request.sql) {
            let result: QueryResult
            do {
                kept.clearBindings()
                try bind(request.parameters, to: kept)
                result = try kept.execute(streaming: true)
            } catch {
                // A kept statement that fails (its table gone, say) is checked afresh next time.
                duckdb.evictQuery(request.sql)
                throw error
            }
            if !result.columns.contains(where: { $0.type.containsVariant }) {
                counters?.hit()
                return result
            }
            duckdb.evictQuery(request.sql)
        }
        if cacheSize > 0 { counters?.miss() }
        let statement = try gate.prepare(request.sql, on: duckdb)
        try bind(request.parameters, to: statement)
        let result = try statement.execute(streaming: true)
        // The gate's rewrite of VARIANT columns depends on the table's columns now: never kept.
        if statement.sql == request.sql { duckdb.cacheQuery(request.sql, statement, capacity: cacheSize) }
        return result
    }

    private static func bind(_ parameters: QueryRequest.Parameters, to statement: PreparedStatement) throws {
        switch parameters {
        case .none:
            guard statement.parameterCount == 0 else {
                throw QueryError(.invalidRequest, code: "invalid_parameters",
                                 message: "the statement has \(statement.parameterCount) parameters but no params were given")
            }
        case .positional(let values): try statement.bind(values)
        case .named(let values): try statement.bind(named: values)
        }
    }
}
