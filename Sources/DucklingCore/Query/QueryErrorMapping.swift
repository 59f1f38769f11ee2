import DuckDBKit

extension QueryError {
    static let timeout = QueryError(.timeout, code: "query_timeout", message: "the query exceeded its time limit and was stopped")

    /// Maps whatever stopped a query to the error the caller sees; an interruption is reported by
    /// its reason (a time limit is a timeout whatever the engine said).
    static func from(_ error: any Error, interruption: Interrupter.Reason?) -> QueryError {
        switch interruption {
        case .timeout: return timeout
        case .cancelled: return QueryError(.cancelled, code: "query_cancelled", message: "the query was cancelled")
        case nil: return from(error)
        }
    }

    /// Maps whatever stopped a query to the error the caller sees.
    static func from(_ error: any Error) -> QueryError {
        switch error {
        case let error as QueryError:
            return error
        case is AsyncSemaphore.QueueFull:
            return QueryError(.overloaded, code: "too_many_queries",
                              message: "too many queries are running and waiting; retry shortly", retryAfterSeconds: 1)
        case let error as DatabaseUnavailable:
            return QueryError(.unavailable, code: error.code, message: error.description,
                              retryAfterSeconds: error.retryAfterSeconds)
        case is CancellationError:
            return QueryError(.cancelled, code: "query_cancelled", message: "the query was cancelled")
        case let error as DuckDBError:
            return from(error)
        default:
            return QueryError(.engine, code: "query_failed", message: String(describing: error))
        }
    }

    private static func from(_ error: DuckDBError) -> QueryError {
        if error.code == .interrupted {
            return QueryError(.cancelled, code: "query_cancelled", message: "the query was cancelled")
        }
        if error.code == .bindFailed {
            return QueryError(.invalidRequest, code: "invalid_parameters", message: error.message)
        }
        if error.code == .unsupportedType {
            return QueryError(.invalidRequest, code: "unsupported_type", message: error.message)
        }
        if error.kind == .permission {
            return QueryError(.forbidden, code: "permission_denied", message: error.message)
        }
        if error.kind == .transaction && error.message.contains("read-only") {
            return QueryError(.forbidden, code: "read_only", message: error.message)
        }
        if error.kind.isStatementError {
            return QueryError(.invalidRequest, code: "invalid_sql", message: error.message)
        }
        return QueryError(.engine, code: "query_failed", message: error.message)
    }

    var outcome: QueryStatistics.Outcome {
        switch category {
        case .invalidRequest, .forbidden, .notFound, .overloaded, .unavailable: .rejected
        case .timeout: .timedOut
        case .cancelled: .cancelled
        case .engine: .failed
        }
    }
}
