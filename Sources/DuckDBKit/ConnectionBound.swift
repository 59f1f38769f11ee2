/// A value that belongs to one connection (a streaming ``QueryResult``, say) and may cross
/// concurrency domains only to be used again on that connection's queue.
///
/// Safety: the value is only reached through ``Connection/unwrap(_:)``, which checks that the
/// caller runs on the owning connection, and it is released on that connection's queue.
public final class ConnectionBound<Value>: @unchecked Sendable {
    let owner: ObjectIdentifier
    private let queue: SerialQueue
    private var storage: Value?

    init(owner: ObjectIdentifier, queue: SerialQueue, value: Value) {
        self.owner = owner
        self.queue = queue
        self.storage = value
    }

    var value: Value {
        guard let storage else { preconditionFailure("a connection-bound value was used after release") }
        return storage
    }

    deinit {
        // DuckDB objects must be destroyed where their connection is used, never concurrently with it.
        let released = Released(value: storage.take())
        queue.async { _ = released }
    }

    /// Carries the value to the connection's queue, where its last reference is dropped.
    private final class Released: @unchecked Sendable {
        var value: Value?
        init(value: Value?) { self.value = value }
    }
}
