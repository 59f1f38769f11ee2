import Synchronization

/// Shared/exclusive access to a database's write path: syncs write under shared access, a backup's
/// snapshot takes exclusive access (sync writes pause; reads go on). Waiting exclusive holders are
/// served before later shared ones, so a backup is never starved by a stream of syncs.
final class WriteGate: Sendable {
    private enum Mode { case shared, exclusive }

    private struct Waiter {
        let id: UInt64
        let mode: Mode
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var sharedHolders = 0
        var exclusiveHeld = false
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0

        func canEnter(_ mode: Mode, aheadOf index: Int) -> Bool {
            switch mode {
            case .exclusive: !exclusiveHeld && sharedHolders == 0 && index == 0
            case .shared: !exclusiveHeld && !waiters.prefix(index).contains { $0.mode == .exclusive }
            }
        }

        mutating func enter(_ mode: Mode) {
            if mode == .exclusive { exclusiveHeld = true } else { sharedHolders += 1 }
        }
    }

    private let state = Mutex(State())

    func withShared<T>(_ body: () async throws -> T) async throws -> T {
        try await acquire(.shared)
        defer { release(.shared) }
        return try await body()
    }

    func withExclusive<T>(_ body: () async throws -> T) async throws -> T {
        try await acquire(.exclusive)
        defer { release(.exclusive) }
        return try await body()
    }

    private func acquire(_ mode: Mode) async throws {
        let id: UInt64? = state.withLock { state in
            if state.waiters.isEmpty && state.canEnter(mode, aheadOf: 0) {
                state.enter(mode)
                return nil
            }
            state.nextID += 1
            return state.nextID
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let cancelled = state.withLock { state in
                    if Task.isCancelled { return true }
                    state.waiters.append(Waiter(id: id, mode: mode, continuation: continuation))
                    return false
                }
                if cancelled { continuation.resume(throwing: CancellationError()) }
                wakeWaiters()
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(throwing: CancellationError())
            wakeWaiters()
        }
    }

    private func release(_ mode: Mode) {
        state.withLock { state in
            if mode == .exclusive { state.exclusiveHeld = false } else { state.sharedHolders -= 1 }
        }
        wakeWaiters()
    }

    /// Lets in every waiter that may enter now, in order.
    private func wakeWaiters() {
        let ready = state.withLock { state -> [Waiter] in
            var ready: [Waiter] = []
            var index = 0
            while index < state.waiters.count {
                let waiter = state.waiters[index]
                if state.canEnter(waiter.mode, aheadOf: index) {
                    state.enter(waiter.mode)
                    state.waiters.remove(at: index)
                    ready.append(waiter)
                    if waiter.mode == .exclusive { break }
                } else {
                    if waiter.mode == .exclusive { break }
                    index += 1
                }
            }
            return ready
        }
        ready.forEach { $0.continuation.resume() }
    }
}
