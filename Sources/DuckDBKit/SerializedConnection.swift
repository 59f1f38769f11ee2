internal import CDuckDB

/// A connection whose work always runs on its own serial queue, reachable from async code.
///
/// Cancelling the task awaiting ``run(_:)`` interrupts the statement the job is running.
public final class SerializedConnection: Sendable {
    private let queue: SerialQueue
    /// Only touched on `queue`.
    private let box: Box
    public let label: String
    /// DuckDB's id of the connection (``Connection/connectionID``).
    public let connectionID: UInt64

    private final class Box: @unchecked Sendable {
        let connection: Connection
        init(_ connection: Connection) { self.connection = connection }
    }

    /// Connects to `database`; `prepare` runs on the new connection first (say, `USE lake`).
    public init(database: Database, label: String, prepare: ((Connection) throws -> Void)? = nil) throws {
        self.queue = SerialQueue(label: label)
        let connection = try database.connect()
        do {
            try prepare?(connection)
        } catch {
            connection.close()
            throw error
        }
        self.connectionID = try connection.connectionID
        self.box = Box(connection)
        self.label = label
    }

    /// Runs `body` with the connection on its queue. If the calling task is cancelled, or
    /// `interrupter` fires, the running statement is interrupted and `body` sees
    /// ``DuckDBError/Code/interrupted``; a job interrupted before it starts throws
    /// `CancellationError` without running.
    public func run<T: Sendable>(
        interrupter: Interrupter = Interrupter(),
        _ body: @escaping @Sendable (Connection) throws -> T
    ) async throws -> T {
        let job = JobCancellation(interrupter: interrupter)
        let box = self.box
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                queue.async {
                    let connection = box.connection
                    let handle: duckdb_connection
                    do {
                        handle = try connection.handle
                    } catch {
                        continuation.resume(throwing: error)
                        return
                    }
                    guard job.begin(on: handle) else {
                        continuation.resume(throwing: CancellationError())
                        return
                    }
                    connection.currentJob = job
                    let result = Result { try body(connection) }
                    connection.currentJob = nil
                    job.end()
                    continuation.resume(with: result)
                }
            }
        } onCancel: {
            interrupter.interrupt(.cancelled)
        }
    }

    /// Closes the connection on its queue, after the work queued before: its cached statements go,
    /// then the DuckDB connection. Later jobs throw. Returns once it is closed.
    public func close() async {
        let box = self.box
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                box.connection.close()
                continuation.resume()
            }
        }
    }

    /// Queues `body` on the connection without waiting for it: for cleanup that must happen before
    /// the connection's next job (ending a transaction when a result is abandoned, say).
    public func schedule(_ body: @escaping @Sendable (Connection) -> Void) {
        let box = self.box
        queue.async { body(box.connection) }
    }

    /// Wraps a value created on this connection so it can be carried to a later ``run(_:)``.
    public func bind<Value>(_ value: Value, to connection: Connection) -> ConnectionBound<Value> {
        precondition(connection === box.connection, "the value must come from this connection")
        return connection.bind(value, queue: queue)
    }
}
