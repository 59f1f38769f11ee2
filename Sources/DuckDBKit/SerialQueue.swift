import Dispatch

/// The serial queue a connection's work runs on: DuckDB calls block, so they never run on the
/// Swift concurrency pool or an event loop.
public final class SerialQueue: Sendable {
    let queue: DispatchQueue

    public init(label: String) {
        self.queue = DispatchQueue(label: label)
    }

    func async(_ work: @escaping @Sendable () -> Void) {
        queue.async(execute: work)
    }
}
