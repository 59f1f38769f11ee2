import DuckDBKit
import Synchronization

/// A counting semaphore for async code with a bounded, first-come-first-served wait queue.
/// A cancelled waiter leaves the queue at once.
final class AsyncSemaphore: Sendable {
    /// The wait queue was full; nothing was acquired.
    struct QueueFull: Error {}

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var available: Int
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
    }

    private let state: Mutex<State>
    let permits: Int

    init(permits: Int) {
        precondition(permits > 0)
        self.permits = permits
        self.state = Mutex(State(available: permits))
    }

    /// Takes a permit, waiting behind earlier callers. With `queueLimit`, throws ``QueueFull`` instead
    /// of waiting when that many callers already wait. A waiter leaves the queue when its task is
    /// cancelled or its `interrupter` fires (throwing `CancellationError`).
    func acquire(queueLimit: Int? = nil, interrupter: Interrupter? = nil) async throws {
        let id: UInt64? = try state.withLock { state in
            if state.available > 0 && state.waiters.isEmpty {
                state.available -= 1
                return nil
            }
            if let queueLimit, state.waiters.count >= queueLimit { throw QueueFull() }
            state.nextID += 1
            return state.nextID
        }
        guard let id else { return }
        let registration = interrupter?.whenInterrupted { [weak self] _ in self?.abandon(id) }
        defer { interrupter?.remove(registration) }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Outcome { case cancelled, acquired, waiting }
                let outcome = state.withLock { state -> Outcome in
                    if Task.isCancelled || interrupter?.reason != nil { return .cancelled }
                    // A release between the first look and now found nobody waiting and kept its
                    // permit: take it here, or this waiter would wait for a release that never comes.
                    if state.available > 0 && state.waiters.isEmpty {
                        state.available -= 1
                        return .acquired
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return .waiting
                }
                switch outcome {
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .acquired: continuation.resume()
                case .waiting: break
                }
            }
        } onCancel: {
            abandon(id)
        }
    }

    /// Takes waiter `id` out of the queue, if it still waits, and wakes it with `CancellationError`.
    private func abandon(_ id: UInt64) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        waiter?.continuation.resume(throwing: CancellationError())
    }

    /// Returns a permit, handing it straight to the longest waiter if there is one.
    func release() {
        let waiter = state.withLock { state -> Waiter? in
            if state.waiters.isEmpty {
                state.available += 1
                precondition(state.available <= permits, "semaphore released more often than acquired")
                return nil
            }
            return state.waiters.removeFirst()
        }
        waiter?.continuation.resume()
    }

    /// Permits in use and callers waiting, for status and metrics.
    var usage: (inUse: Int, waiting: Int) {
        state.withLock { (permits - $0.available, $0.waiters.count) }
    }
}
