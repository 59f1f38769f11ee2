import DuckDBKit
import Synchronization

/// A fixed set of read connections to one database instance. The pool's size bounds how many
/// queries run at once; callers beyond that wait in a bounded queue.
final class ConnectionPool: Sendable {
    private let semaphore: AsyncSemaphore
    private let idle: Mutex<[SerializedConnection]>
    /// The interrupters of the work holding connections, so a drain that runs out of patience can stop it.
    private let holders = Mutex<(next: UInt64, interrupters: [UInt64: Interrupter])>((0, [:]))

    init(database: Database, size: Int, label: String, prepare: ((Connection) throws -> Void)? = nil) throws {
        self.semaphore = AsyncSemaphore(permits: size)
        self.idle = Mutex(try (0..<size).map { try SerializedConnection(database: database, label: "\(label).\($0)", prepare: prepare) })
    }

    /// Takes a connection, waiting if all are busy. With `queueLimit`, throws
    /// ``AsyncSemaphore/QueueFull`` when that many callers are already waiting.
    func acquire(queueLimit: Int?, interrupter: Interrupter? = nil) async throws -> SerializedConnection {
        try await semaphore.acquire(queueLimit: queueLimit, interrupter: interrupter)
        return idle.withLock { $0.removeLast() }
    }

    func release(_ connection: SerializedConnection) {
        idle.withLock { $0.append(connection) }
        semaphore.release()
    }

    /// Records `interrupter` as stopping the work that holds a connection; returns a token for ``untrack(_:)``.
    func track(_ interrupter: Interrupter) -> UInt64 {
        holders.withLock { holders in
            holders.next += 1
            holders.interrupters[holders.next] = interrupter
            return holders.next
        }
    }

    /// Interrupts all the work holding connections now.
    func interruptHolders() {
        for interrupter in holders.withLock({ Array($0.interrupters.values) }) { interrupter.interrupt(.cancelled) }
    }

    func untrack(_ token: UInt64) {
        _ = holders.withLock { $0.interrupters.removeValue(forKey: token) }
    }

    /// Waits until every connection is back and keeps them all: nothing runs on the pool afterwards.
    /// With `patience`, work still holding a connection after it is interrupted (a query whose
    /// client stopped reading, say), and so is work that takes a connection later (callers that were
    /// already queued), every second until the pool is drained. If the wait is cancelled, what was
    /// taken is given back.
    func drain(patience: Duration? = nil) async throws {
        let timer = patience.map { patience in
            Task { [self] in
                try await Task.sleep(for: patience)
                while true {
                    interruptHolders()
                    try await Task.sleep(for: .seconds(1))
                }
            }
        }
        defer { timer?.cancel() }
        var taken = 0
        do {
            while taken < semaphore.permits {
                try await semaphore.acquire()
                taken += 1
            }
        } catch {
            for _ in 0..<taken { semaphore.release() }
            throw error
        }
    }

    /// Gives back what ``drain()`` took.
    func undrain() {
        for _ in 0..<semaphore.permits { semaphore.release() }
    }

    /// Closes every connection of a drained pool (each on its own queue, after its last job).
    func closeAll() async {
        for connection in idle.withLock({ $0 }) { await connection.close() }
    }

    var usage: (inUse: Int, waiting: Int, size: Int) {
        let (inUse, waiting) = semaphore.usage
        return (inUse, waiting, semaphore.permits)
    }
}
