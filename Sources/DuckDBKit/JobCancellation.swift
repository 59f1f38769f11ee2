internal import CDuckDB
import Synchronization

/// Ties an ``Interrupter`` to the one job it is running on a connection.
///
/// An interruption interrupts the connection only while the job runs, under the same lock that
/// `end()` takes, so it can never reach the connection's next job. The job checks the interrupter
/// after DuckDB has started each statement (``Connection/checkCancellation()``, which interrupts
/// DuckDB again if so), which closes the window in which DuckDB clears its own interrupt flag.
final class JobCancellation: Sendable {
    let interrupter: Interrupter
    /// The running connection's address: a plain integer so the state stays `Sendable`.
    private let running = Mutex<Int?>(nil)
    private let registration = Mutex<Interrupter.Registration?>(nil)

    init(interrupter: Interrupter) {
        self.interrupter = interrupter
    }

    var isCancelled: Bool { interrupter.reason != nil }

    /// Marks the job running on `connection`; false if it was interrupted before it started.
    func begin(on connection: duckdb_connection) -> Bool {
        running.withLock { $0 = Int(bitPattern: connection) }
        // Removed again in end(), so the interrupter holds this job only while it runs.
        let token = interrupter.whenInterrupted { _ in self.interruptIfRunning() }
        registration.withLock { $0 = token }
        if isCancelled {
            end()
            return false
        }
        return true
    }

    private func interruptIfRunning() {
        running.withLock { address in
            if let address, let connection = duckdb_connection(bitPattern: address) {
                duckdb_interrupt(connection)
            }
        }
    }

    func end() {
        running.withLock { $0 = nil }
        interrupter.remove(registration.withLock { $0 })
    }
}
