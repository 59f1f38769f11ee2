internal import CDuckDB
import Synchronization

/// Links the cancellation of one Swift task to the one job it runs on a connection.
///
/// `cancel()` marks the job cancelled and, if the job is running, interrupts the connection under
/// the same lock that `end()` takes, so an interrupt can never reach the connection's next job.
/// The job checks the flag after DuckDB has started each statement (``Connection/checkCancellation()``),
/// which closes the window in which DuckDB clears its own interrupt flag.
final class JobCancellation: Sendable {
    private struct State {
        var isCancelled = false
        /// The running connection's address: a plain integer so the state stays `Sendable`.
        var running: Int?
    }

    private let state = Mutex(State())

    var isCancelled: Bool { state.withLock { $0.isCancelled } }

    /// Marks the job running on `connection`; false if it was cancelled before it started.
    func begin(on connection: duckdb_connection) -> Bool {
        state.withLock { state in
            guard !state.isCancelled else { return false }
            state.running = Int(bitPattern: connection)
            return true
        }
    }

    func end() {
        state.withLock { $0.running = nil }
    }

    func cancel() {
        state.withLock { state in
            state.isCancelled = true
            if let address = state.running, let connection = duckdb_connection(bitPattern: address) {
                duckdb_interrupt(connection)
            }
        }
    }
}
