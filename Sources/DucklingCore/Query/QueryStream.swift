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
        /// A ``next()`` is running a job on the connection (it handles an interruption itself).
        var inFlight = false
        /// Why the stream was stopped between two ``next()`` calls, which the next one throws.
        var abandoned: QueryError?
        var registration: Interrupter.Registration?
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
        if first.finished {
            complete(.succeeded)
            return
        }
        // A time limit (or a client that left) must free the connection even when nobody calls
        // next() again, as when a client stops reading and the response cannot be written.
        let registration = interrupter.whenInterrupted { [weak self] reason in self?.interruptedBetweenSteps(reason) }
        state.withLock { $0.registration = registration }
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
        let (pending, lease, cursor, abandoned) = state.withLock { state in
            defer { state.pending = nil }
            if state.pending == nil && state.lease != nil { state.inFlight = true }
            return (state.pending, state.lease, state.cursor, state.abandoned)
        }
        if let pending { return pending }
        if let abandoned { throw abandoned }
        guard let lease, let cursor else { return nil }
        defer {
            state.withLock { $0.inFlight = false }
            // An interruption that came while this step ran, too late to stop it, frees the connection now.
            if let reason = interrupter.reason { interruptedBetweenSteps(reason) }
        }
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

    /// The interrupter fired while no ``next()`` runs: ends the transaction and returns the
    /// connection now; the next ``next()`` throws, so the response is cut short, not ended as if whole.
    private func interruptedBetweenSteps(_ reason: Interrupter.Reason) {
        let failure = QueryError.from(DuckDBError(code: .interrupted, kind: .interrupt, message: "INTERRUPT Error: Interrupted!"), interruption: reason)
        let lease = state.withLock { state -> ReaderLease? in
            guard !state.finished, !state.inFlight, state.lease != nil else { return nil }
            state.abandoned = failure
            return state.lease
        }
        guard let lease else { return }
        // Queued behind anything still on the connection; the cursor goes on the connection's queue too.
        lease.connection.schedule { $0.rollbackIfInTransaction() }
        complete(failure.outcome)
    }

    /// Marks the stream finished, drops the result and returns the connection (once).
    private func complete(_ outcome: QueryStatistics.Outcome) {
        let (lease, registration) = state.withLock { state -> (ReaderLease?, Interrupter.Registration?) in
            guard !state.finished else { return (nil, nil) }
            state.finished = true
            state.cursor = nil
            defer {
                state.lease = nil
                state.registration = nil
            }
            return (state.lease, state.registration)
        }
        interrupter.remove(registration)
        guard let lease else { return }
        interrupter.cancelDeadline()
        lease.release()
        report(outcome)
    }
}
