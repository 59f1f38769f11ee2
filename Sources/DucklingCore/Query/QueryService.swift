public import Logging
public import Metrics
import DuckDBKit

/// Runs caller SQL read-only against a database (DESIGN.md §6): the gate, binds, a time limit that
/// really stops the query, a bound on running and waiting queries, and streamed results.
public final class QueryService: Sendable {
    public let statistics: QueryStatistics
    private let registry: DatabaseRegistry
    private let settings: QuerySettings
    private let logger: Logger
    private let metricsFactory: any MetricsFactory

    public init(registry: DatabaseRegistry, settings: QuerySettings, logger: Logger, metricsFactory: any MetricsFactory) {
        self.registry = registry
        self.settings = settings
        self.logger = logger
        self.metricsFactory = metricsFactory
        self.statistics = QueryStatistics(slowThresholdMilliseconds: settings.slowQueryMilliseconds)
    }

    /// Starts a query and returns its stream once the first part of the body is ready, so every
    /// error that can be known before the first byte (bad SQL, refusal, timeout, overload) is
    /// thrown here as a ``QueryError``.
    public func start(_ request: QueryRequest, database databaseID: String, format: ResultFormat) async throws -> QueryStream {
        let started = ContinuousClock.now
        let record: @Sendable (QueryStatistics.Outcome) -> Void = { [statistics, logger, metricsFactory] outcome in
            let elapsed = (ContinuousClock.now - started).milliseconds
            statistics.record(outcome, database: databaseID, sql: request.sql, milliseconds: elapsed)
            Counter(label: "duckling_queries_total", dimensions: [("database", databaseID), ("outcome", outcome.rawValue)], factory: metricsFactory)
                .increment()
            Timer(label: "duckling_query_duration_seconds", dimensions: [("database", databaseID)], factory: metricsFactory)
                .recordNanoseconds(Int64(elapsed * 1_000_000))
            logger.debug("query finished", metadata: [
                "duckling.database": .string(databaseID), "duckling.outcome": .string(outcome.rawValue),
                "duckling.elapsed_ms": .stringConvertible(elapsed),
            ])
        }
        do {
            guard let database = registry.database(databaseID) else {
                throw QueryError(.notFound, code: "database_not_found", message: "no database with id '\(databaseID)'")
            }
            let timeout = min(request.timeoutMilliseconds ?? settings.defaultTimeoutMilliseconds, settings.maxTimeoutMilliseconds)
            guard timeout > 0 else {
                throw QueryError(.invalidRequest, code: "invalid_timeout", message: "timeout_ms must be positive")
            }
            let deadline = started + .milliseconds(timeout)
            let queueLimit = settings.maxQueued
            let lease = try await withDeadline(deadline) { try await database.leaseReader(queueLimit: queueLimit) }
            do {
                let connection = lease.connection
                let (columns, first, cursor) = try await withDeadline(deadline) {
                    try await connection.run { duckdb in
                        do {
                            let statement = try ReadOnlyGate.prepare(request.sql, on: duckdb)
                            try Self.bind(request.parameters, to: statement)
                            try duckdb.execute("BEGIN TRANSACTION READ ONLY")
                            let result = try statement.execute(streaming: true)
                            let cursor = QueryCursor(result: result, format: format, started: started)
                            let step = try cursor.advance(on: duckdb, budget: 1 << 16, isFirst: true)
                            return (result.columns, step, connection.bind(cursor, to: duckdb))
                        } catch {
                            duckdb.rollbackIfInTransaction()
                            throw error
                        }
                    }
                }
                return QueryStream(columns: columns, format: format, first: first, lease: lease, cursor: cursor, deadline: deadline, report: record)
            } catch {
                lease.release()
                throw error
            }
        } catch {
            let failure = QueryError.from(error)
            record(failure.outcome)
            throw failure
        }
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
