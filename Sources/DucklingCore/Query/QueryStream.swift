public import DuckDBKit
import Synchronization

/// A started query whose body is read piece by piece with ``next()``. It holds a read connection
/// until the body ends, fails or is abandoned (``cancel()``, or deinit), and always ends its
/// read-only transaction before the connection goes back to the pool.
public final class QueryStream: Sendable {
    public let columns: [Column]
    public let format: ResultFormat
    private let interrupter: Interrupter
    private let report: @Sendable (QueryStatistics.Outcome) -> Void
    private let state: Mutex<State>

    private struct State {
        var pending: [UInt8]?
        var lease: ReaderLease?
        var cursor: ConnectionBound<QueryCursor>?
        var finished: Bool
    }

    init(
        columns: [Column], format: ResultFormat, first: QueryCursor.Step, lease: ReaderLease,
        cursor: ConnectionBound<QueryCursor>, interrupter: Interrupter,
        report: @escaping @Sendable (QueryStatistics.Outcome) -> Void
    ) {
        self.columns = columns
        self.format = format
        self.interrupter = interrupter
        self.report = report
        self.state = Mutex(State(pending: first.bytes, lease: lease, cursor: cursor, finished: false))
        if first.finished { complete(.succeeded) }
    }

    deinit {
        cancel()
    }

    /// The whole body, when the query finished while starting (small results): it can be sent as
    /// one buffer. Nil when the body still has to be streamed with ``next()``.
    public func takeCompleteBody() -> [UInt8]? {
        state.withLock { state in
            guard state.finished, state.lease == nil, let pending = state.pending else { return nil }
            state.pending = nil
            return pending
        }
    }

    /// The next piece of the body, or nil after the last. Throws when the response must be cut
    /// short (a failure the format cannot report in-band).
    public func next() async throws -> [UInt8]? {
        let (pending, lease, cursor) = state.withLock { state in
            defer { state.pending = nil }
            return (state.pending, state.lease, state.cursor)
        }
        if let pending { return pending }
        guard let lease, let cursor else { return nil }
        do {
            let step = try await lease.connection.run(interrupter: interrupter) {
                try $0.unwrap(cursor).advance(on: $0, budget: 1 << 18, isFirst: false)
            }
            if step.finished { complete(.succeeded) }
            return step.bytes
        } catch {
            let failure = QueryError.from(error, interruption: interrupter.reason)
            // The query's own interrupter has fired, so the clean-up job runs without it. Without a
            // task to run it in (the client left), the scheduled rollback still ends the transaction.
            let bytes = try? await lease.connection.run { $0.unwrap(cursor).fail(failure, on: $0) }
            if bytes == nil { lease.connection.schedule { $0.rollbackIfInTransaction() } }
            complete(failure.outcome)
            guard let bytes else { throw failure }
            return bytes
        }
    }

    /// Abandons the body: stops the query, ends the transaction and returns the connection. Safe
    /// to call at any time and more than once.
    public func cancel() {
        let lease = state.withLock { state -> ReaderLease? in
            guard !state.finished else { return nil }
            return state.lease
        }
        if let lease {
            interrupter.interrupt(.cancelled)
            lease.connection.schedule { $0.rollbackIfInTransaction() }
            complete(.cancelled)
        }
    }

    /// Marks the stream finished, drops the result and returns the connection (once).
    private func complete(_ outcome: QueryStatistics.Outcome) {
        let lease = state.withLock { state -> ReaderLease? in
            guard !state.finished else { return nil }
            state.finished = true
            state.cursor = nil
            defer { state.lease = nil }
            return state.lease
        }
        guard let lease else { return }
        interrupter.cancelDeadline()
        lease.release()
        report(outcome)
    }
}
