import Dispatch
import Synchronization

/// Tasks waiting, each up to a time limit of its own, for a condition that another part of the
/// code makes true and then announces with ``resumeAll()``. A waiter registers before it checks
/// the condition, so an announcement between the check and the wait is never lost.
public final class EventWaiters: Sendable {
    private let state = Mutex<(next: UInt64, waiting: [UInt64: CheckedContinuation<Bool, Never>])>((0, [:]))

    public init() {}

    /// Returns true as soon as `condition` holds (at once if it already does), or false once
    /// `patience` has passed without it.
    public func wait(within patience: Duration, until condition: @Sendable () -> Bool) async -> Bool {
        await withCheckedContinuation { continuation in
            let id = state.withLock { state -> UInt64 in
                state.next += 1
                state.waiting[state.next] = continuation
                return state.next
            }
            if condition() {
                take(id)?.resume(returning: true)
                return
            }
            let (seconds, attoseconds) = patience.components
            let nanoseconds = Int(clamping: seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { [self] in
                take(id)?.resume(returning: false)
            }
        }
    }

    /// Wakes every waiter with true: call it once the condition holds.
    public func resumeAll() {
        let waiting = state.withLock { state in
            defer { state.waiting = [:] }
            return Array(state.waiting.values)
        }
        waiting.forEach { $0.resume(returning: true) }
    }

    private func take(_ id: UInt64) -> CheckedContinuation<Bool, Never>? {
        state.withLock { $0.waiting.removeValue(forKey: id) }
    }
}
