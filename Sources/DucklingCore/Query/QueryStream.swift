public import DuckDBKit
import Synchronization

/// A started query whose body is read piece by piece with ``next()``. It holds a read connection
/// until the body ends, fails or is abandoned (``cancel()``, or deinit), and always ends its
/// read-only transaction before the connection goes back to the pool.
public final class QueryStream: ResultBody {
    public let columns: [Column]
    private let interrupter: Interrupter
    private let report: @Sendable (QueryStatistics.Outcome, Int) -> Void
    /// The most chunks one ``next()`` reads (a Parquet export's steps produce no bytes to count).
    private let chunksPerStep: Int
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
        /// Rows sent so far, for the statistics.
        var rows = 0
    }

    init(
        columns: [Column], first: QueryCursor.Step, lease: ReaderLease,
        cursor: ConnectionBound<QueryCursor>?, interrupter: Interrupter,
        chunksPerStep: Int = .max, report: @escaping @Sendable (QueryStatistics.Outcome, Int) -> Void
    ) {
        self.chunksPerStep = chunksPerStep
        self.columns = columns
        self.interrupter = interrupter
        self.report = report
        self.state = Mutex(State(pending: first.bytes, lease: lease, cursor: cursor, finished: false, rows: first.rows))
        if first.finished {
            end(.succeeded, rollback: false)
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
    /// one buffer. Nil when the body still has to be streamed with ``next()``. Throws when the query
    /// was stopped before anything was sent, so the caller answers with the error instead.
    public func takeCompleteBody() throws -> [UInt8]? {
        try state.withLock { state in
            if let abandoned = state.abandoned, state.pending != nil { throw abandoned }
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
            let step = try await lease.connection.run(interrupter: interrupter) { [chunksPerStep] in
                try $0.unwrap(cursor).advance(on: $0, budget: 1 << 18, maxChunks: chunksPerStep, isFirst: false)
            }
            state.withLock { $0.rows = step.rows }
            if step.finished { end(.succeeded, rollback: false) }
            return step.bytes
        } catch {
            let failure = QueryError.from(error, interruption: interrupter.reason)
            // The query's own interrupter has fired, so the clean-up job runs without it; it ends
            // the transaction and says whether the format can report the failure in-band.
            let bytes: [UInt8]?
            do {
                bytes = try await lease.connection.run { $0.unwrap(cursor).fail(failure, on: $0) }
            } catch {
                // Without a task to run it in (the client left), a scheduled rollback ends the transaction.
                bytes = nil
            }
            end(failure.outcome, abandoning: bytes == nil ? failure : nil, rollback: bytes == nil)
            guard let bytes else { throw failure }
            return bytes
        }
    }

    /// Abandons the body: stops the query, ends the transaction and returns the connection. Safe
    /// to call at any time and more than once; a step still running ends the stream itself.
    public func cancel() {
        interrupter.interrupt(.cancelled)
        let failure = QueryError.from(CancellationError(), interruption: .cancelled)
        end(.cancelled, abandoning: failure, rollback: true, onlyBetweenSteps: true)
    }

    /// The interrupter fired while no ``next()`` runs: ends the transaction and returns the
    /// connection now; the next ``next()`` throws, so the response is cut short, not ended as if whole.
    private func interruptedBetweenSteps(_ reason: Interrupter.Reason) {
        let failure = QueryError.from(DuckDBError(code: .interrupted, kind: .interrupt, message: "INTERRUPT Error: Interrupted!"), interruption: reason)
        end(failure.outcome, abandoning: failure, rollback: true, onlyBetweenSteps: true)
    }

    /// Ends the stream, once whoever calls first: marks it finished, takes the connection out of it
    /// in the same step, queues the result's release and the rollback (when `rollback`) on the
    /// connection, and only then returns the connection to the pool, so nothing of this stream
    /// runs on it after another query has it. With `onlyBetweenSteps`, does nothing while a step
    /// runs (that step ends the stream itself).
    private func end(_ outcome: QueryStatistics.Outcome, abandoning failure: QueryError? = nil, rollback: Bool, onlyBetweenSteps: Bool = false) {
        let taken = state.withLock { state -> (ReaderLease?, Interrupter.Registration?, Int)? in
            guard !state.finished, !(onlyBetweenSteps && state.inFlight) else { return nil }
            state.finished = true
            if let failure { state.abandoned = failure }
            // Dropping the cursor queues its release on the connection (ConnectionBound).
            state.cursor = nil
            defer {
                state.lease = nil
                state.registration = nil
            }
            return (state.lease, state.registration, state.rows)
        }
        guard let (lease, registration, rows) = taken else { return }
        interrupter.remove(registration)
        interrupter.cancelDeadline()
        if let lease {
            if rollback { lease.connection.schedule { $0.rollbackIfInTransaction() } }
            lease.release()
        }
        report(outcome, rows)
    }
}
