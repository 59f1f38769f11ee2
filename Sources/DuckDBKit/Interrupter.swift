import Dispatch
import Synchronization

/// Stops DuckDB work from anywhere: a time limit, a client that left, a cancelled task. Work that
/// runs with an interrupter checks it before each statement and chunk, and an interruption stops a
/// statement that is already running. One interrupter may span several jobs (a whole streamed query).
public final class Interrupter: Sendable {
    public enum Reason: Sendable, Equatable {
        case cancelled
        case timeout
    }

    /// A registered reaction to an interruption, for ``remove(_:)``.
    public struct Registration: Sendable {
        fileprivate let id: UInt64
    }

    private struct State {
        var reason: Reason?
        var handlers: [UInt64: @Sendable (Reason) -> Void] = [:]
        var nextID: UInt64 = 0
        /// This interrupter's entry in ``DeadlineTimer``.
        var deadline: UInt64?
    }

    private let state = Mutex(State())

    public init() {}

    deinit {
        state.withLock { $0.deadline }.map(DeadlineTimer.shared.cancel)
    }

    /// This interrupter's entry in ``DeadlineTimer/shared`` while a deadline is set.
    var deadlineID: UInt64? { state.withLock { $0.deadline } }

    /// Why the work was interrupted, or nil if it was not.
    public var reason: Reason? { state.withLock { $0.reason } }

    /// Interrupts once; later calls change nothing.
    public func interrupt(_ reason: Reason = .cancelled) {
        interrupt(reason, ifDeadline: nil)
    }

    /// The deadline `id` of ``DeadlineTimer`` passed: a timeout, unless that deadline was
    /// cancelled or replaced in the meantime.
    func timeOut(ifDeadline id: UInt64) {
        interrupt(.timeout, ifDeadline: id)
    }

    private func interrupt(_ reason: Reason, ifDeadline id: UInt64?) {
        let handlers = state.withLock { state -> [@Sendable (Reason) -> Void] in
            guard state.reason == nil, id == nil || state.deadline == id else { return [] }
            state.reason = reason
            state.deadline.map(DeadlineTimer.shared.cancel)
            state.deadline = nil
            defer { state.handlers = [:] }
            return Array(state.handlers.values)
        }
        handlers.forEach { $0(reason) }
    }

    /// Interrupts with ``Reason/timeout`` when `deadline` passes (replacing an earlier deadline).
    public func interrupt(at deadline: ContinuousClock.Instant) {
        let (seconds, attoseconds) = ContinuousClock.now.duration(to: deadline).components
        let nanoseconds = max(0, seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        let uptime = DispatchTime.now().uptimeNanoseconds.addingReportingOverflow(UInt64(nanoseconds))
        state.withLock { state in
            guard state.reason == nil else { return }
            state.deadline.map(DeadlineTimer.shared.cancel)
            state.deadline = DeadlineTimer.shared.schedule(self, at: uptime.overflow ? .max : uptime.partialValue)
        }
    }

    /// Stops the deadline timer (the work is done).
    public func cancelDeadline() {
        state.withLock { state in
            state.deadline.map(DeadlineTimer.shared.cancel)
            state.deadline = nil
        }
    }

    /// Calls `handler` on interruption, at once if already interrupted (then returns nil).
    public func whenInterrupted(_ handler: @escaping @Sendable (Reason) -> Void) -> Registration? {
        let (id, reason) = state.withLock { state -> (UInt64?, Reason?) in
            if let reason = state.reason { return (nil, reason) }
            state.nextID += 1
            state.handlers[state.nextID] = handler
            return (state.nextID, nil)
        }
        if let reason { handler(reason) }
        return id.map(Registration.init(id:))
    }

    public func remove(_ registration: Registration?) {
        guard let registration else { return }
        _ = state.withLock { $0.handlers.removeValue(forKey: registration.id) }
    }
}
