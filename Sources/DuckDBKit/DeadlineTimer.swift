import Dispatch
import Synchronization

/// The time limits of every ``Interrupter`` in the process, on one dispatch timer.
///
/// A timer per query costs a wake-up of dispatch's timer thread to set it and another to cancel
/// it. Here setting or cancelling a deadline is a map update under a lock; the timer is re-armed
/// only when a new deadline is earlier than the one it waits for, which with one default time
/// limit is almost never, so a query that ends in time wakes nothing.
final class DeadlineTimer: Sendable {
    static let shared = DeadlineTimer()

    private struct Entry {
        weak var interrupter: Interrupter?
        let deadline: UInt64
    }

    private struct State {
        /// The deadlines still wanted, by id.
        var entries: [UInt64: Entry] = [:]
        /// A min-heap of (deadline, id), also holding ids cancelled since (skipped when reached,
        /// and dropped whenever the heap grows past twice the live entries).
        var heap: [(deadline: UInt64, id: UInt64)] = []
        var nextID: UInt64 = 0
        /// When the timer fires next (uptime nanoseconds), nil while it is not armed.
        var armed: UInt64?
        /// Only touched under the lock.
        let timer: any DispatchSourceTimer
    }

    private let state: Mutex<State>

    /// Interrupters use ``shared``; tests may make their own.
    init() {
        state = Mutex(State(timer: DispatchSource.makeTimerSource(queue: DispatchQueue(label: "duckdbkit.deadlines"))))
        state.withLock { state in
            state.timer.setEventHandler { [weak self] in self?.fire() }
            state.timer.activate()
        }
    }

    deinit {
        state.withLock { $0.timer.cancel() }
    }

    /// Interrupts `interrupter` with ``Interrupter/Reason/timeout`` once `deadline` (uptime
    /// nanoseconds) passes, unless ``cancel(_:)`` is called first with the id returned.
    func schedule(_ interrupter: Interrupter, at deadline: UInt64) -> UInt64 {
        state.withLock { state in
            state.nextID += 1
            let id = state.nextID
            state.entries[id] = Entry(interrupter: interrupter, deadline: deadline)
            Self.push((deadline, id), into: &state.heap)
            if state.heap.count > 2 * state.entries.count + 64 { Self.compact(&state) }
            // Under the lock, so two callers cannot leave the timer armed for the later of their deadlines.
            if state.armed.map({ deadline < $0 }) ?? true { Self.arm(&state, at: deadline) }
            return id
        }
    }

    func cancel(_ id: UInt64) {
        _ = state.withLock { $0.entries.removeValue(forKey: id) }
    }

    /// Whether the deadline `id` is still waiting to fire.
    func isPending(_ id: UInt64) -> Bool {
        state.withLock { $0.entries[id] != nil }
    }

    /// Deadlines still wanted, and entries in the heap (those and cancelled ones not yet dropped).
    var pending: (live: Int, heap: Int) {
        state.withLock { ($0.entries.count, $0.heap.count) }
    }

    /// Interrupts what is due and arms the timer for the next live deadline.
    private func fire() {
        let now = DispatchTime.now().uptimeNanoseconds
        let due = state.withLock { state -> [(Interrupter, UInt64)] in
            var due: [(Interrupter, UInt64)] = []
            while let top = state.heap.first, top.deadline <= now || state.entries[top.id] == nil {
                Self.popTop(from: &state.heap)
                if let entry = state.entries.removeValue(forKey: top.id), let interrupter = entry.interrupter {
                    due.append((interrupter, top.id))
                }
            }
            state.armed = nil
            if let next = state.heap.first?.deadline { Self.arm(&state, at: next) }
            return due
        }
        // Outside the lock, and only if that deadline is still the interrupter's: one cancelled or
        // replaced since it was taken out here does not fire. Handlers run on this one queue, so
        // they must not block (they interrupt DuckDB, return a connection, close a pipe).
        for (interrupter, id) in due { interrupter.timeOut(ifDeadline: id) }
    }

    private static func arm(_ state: inout State, at deadline: UInt64) {
        state.armed = deadline
        state.timer.schedule(deadline: DispatchTime(uptimeNanoseconds: deadline), leeway: .milliseconds(1))
    }

    private static func compact(_ state: inout State) {
        state.heap = state.entries.map { (deadline: $0.value.deadline, id: $0.key) }
        state.heap.sort { $0.deadline < $1.deadline }
    }

    private static func push(_ element: (deadline: UInt64, id: UInt64), into heap: inout [(deadline: UInt64, id: UInt64)]) {
        heap.append(element)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private static func popTop(from heap: inout [(deadline: UInt64, id: UInt64)]) {
        heap.swapAt(0, heap.count - 1)
        heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count && heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count && heap[right].deadline < heap[smallest].deadline { smallest = right }
            guard smallest != parent else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
