import Foundation
import Synchronization

/// Named points in the code where a test can make Duckling fail on purpose: kill the process,
/// throw, pause until told to go on, or sleep. They are compiled into every build and do nothing
/// unless configured, at the cost of one atomic load per hit.
///
/// Tests that run Duckling as a process set `DUCKLING_FAILPOINTS`, a comma-separated list of
/// `name=action` with the actions `kill`, `error`, `pause`, `sleep(MS)` and `count` (record hits
/// only), each optionally followed by `*N` to fire only on the first N hits:
/// `DUCKLING_FAILPOINTS=restore.swap.after-move-aside=kill`. Tests in the same process use
/// ``enable(_:_:scope:times:)``; a scope limits a failpoint to hits whose scope (the database file
/// path, where a hit site has one) contains it, so tests running side by side do not meet.
public enum Failpoints {
    public enum Action: Sendable, Equatable {
        /// SIGKILL the process at this point: a crash.
        case kill
        /// Throw ``FailpointError``.
        case error
        /// Wait until ``resume(_:)`` (or, in async code, until the task is cancelled).
        case pause
        case sleep(milliseconds: Int)
        /// Only count the hit (for ``waitUntilHit(_:count:)``).
        case count
    }

    /// Every failpoint in the code. A name not here is refused, so a typo in a test fails loudly
    /// instead of injecting nothing.
    public static let known: Set<String> = [
        "restore.swap.before-move-aside", "restore.swap.after-move-aside", "restore.swap.after-wal-aside",
        "restore.swap.after-move-in", "restore.after-reopen", "restore.swap.after-discard-old", "restore.before-online",
        "cleanup.before-swap",
        "restore.recover.after-remove-new-wal", "database.open", "backup.list", "sync.prepare", "sync.reset-watermark",
        "sync.detach",
    ]

    private struct Point {
        var action: Action
        var scope: String?
        var remaining: Int?
        var hits = 0
        var resumed = 0
    }

    private struct State {
        var points: [String: Point] = [:]
        var hitWaiters: [(name: String, count: Int, continuation: CheckedContinuation<Void, Never>)] = []
        var pauseWaiters: [(name: String, id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextID: UInt64 = 0
    }

    private static let state: Mutex<State> = Mutex(State(points: fromEnvironment()))
    private static let active = Atomic<Bool>(!(ProcessInfo.processInfo.environment["DUCKLING_FAILPOINTS"] ?? "").isEmpty)
    /// Wakes blocking pauses.
    private static let condition = NSCondition()

    /// Enables `name` in this process (replacing an earlier setting of it).
    public static func enable(_ name: String, _ action: Action, scope: String? = nil, times: Int? = nil) {
        precondition(known.contains(name), "unknown failpoint \(name)")
        state.withLock { $0.points[name] = Point(action: action, scope: scope, remaining: times) }
        active.store(true, ordering: .releasing)
    }

    /// Disables `name`; a hit paused there goes on.
    public static func disable(_ name: String) {
        state.withLock { _ = $0.points.removeValue(forKey: name) }
        resume(name)
    }

    /// Lets every hit paused at `name` go on (and the next ones, until it is enabled again).
    public static func resume(_ name: String) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.points[name]?.resumed = Int.max
            let waiting = state.pauseWaiters.filter { $0.name == name }
            state.pauseWaiters.removeAll { $0.name == name }
            return waiting.map(\.continuation)
        }
        waiters.forEach { $0.resume() }
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    /// How often `name` was hit since it was enabled.
    public static func hitCount(_ name: String) -> Int {
        state.withLock { $0.points[name]?.hits ?? 0 }
    }

    /// Returns once `name` has been hit `count` times (a paused hit counts as soon as it pauses).
    public static func waitUntilHit(_ name: String, count: Int = 1) async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                if (state.points[name]?.hits ?? 0) >= count { return true }
                state.hitWaiters.append((name, count, continuation))
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// A hit in async code.
    public static func hit(_ name: String, scope: String? = nil) async throws {
        guard active.load(ordering: .acquiring), let action = record(name, scope: scope) else { return }
        switch action {
        case .kill: killProcess()
        case .error: throw FailpointError(name: name)
        case .sleep(let milliseconds): try await Task.sleep(for: .milliseconds(milliseconds))
        case .count: return
        case .pause:
            let id = state.withLock { state -> UInt64 in
                state.nextID += 1
                return state.nextID
            }
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let go = state.withLock { state -> Bool in
                        if Task.isCancelled { return true }
                        if state.points[name] == nil || (state.points[name]?.resumed ?? 0) > 0 { return true }
                        state.pauseWaiters.append((name, id, continuation))
                        return false
                    }
                    if go { continuation.resume() }
                }
            } onCancel: {
                let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                    guard let index = state.pauseWaiters.firstIndex(where: { $0.id == id }) else { return nil }
                    return state.pauseWaiters.remove(at: index).continuation
                }
                waiter?.resume(throwing: CancellationError())
            }
        }
    }

    /// A hit in blocking code (a DuckDB connection's queue, a blocking I/O thread).
    public static func hitBlocking(_ name: String, scope: String? = nil) throws {
        guard active.load(ordering: .acquiring), let action = record(name, scope: scope) else { return }
        switch action {
        case .kill: killProcess()
        case .error: throw FailpointError(name: name)
        case .sleep(let milliseconds): usleep(useconds_t(milliseconds) * 1000)
        case .count: return
        case .pause:
            condition.lock()
            defer { condition.unlock() }
            while state.withLock({ $0.points[name] != nil && ($0.points[name]?.resumed ?? 0) == 0 }) {
                condition.wait()
            }
        }
    }

    /// Counts a hit and returns the action to take, or nil when `name` is not enabled for `scope`.
    private static func record(_ name: String, scope: String?) -> Action? {
        assert(known.contains(name), "a failpoint site uses the unknown name \(name)")
        let (action, waiters) = state.withLock { state -> (Action?, [CheckedContinuation<Void, Never>]) in
            guard var point = state.points[name] else { return (nil, []) }
            if let wanted = point.scope, !(scope ?? "").contains(wanted) { return (nil, []) }
            point.hits += 1
            var action: Action? = point.action
            if let remaining = point.remaining {
                if remaining <= 0 { action = .count } else { point.remaining = remaining - 1 }
            }
            state.points[name] = point
            let ready = state.hitWaiters.filter { $0.name == name && $0.count <= point.hits }
            state.hitWaiters.removeAll { $0.name == name && $0.count <= point.hits }
            return (action, ready.map(\.continuation))
        }
        waiters.forEach { $0.resume() }
        return action
    }

    private static func killProcess() -> Never {
        kill(getpid(), SIGKILL)
        // SIGKILL cannot be caught; this is never reached.
        abort()
    }

    /// The failpoints `DUCKLING_FAILPOINTS` sets. A malformed value stops the process: a test that
    /// meant to inject a failure must not pass because nothing was injected.
    private static func fromEnvironment() -> [String: Point] {
        let text = ProcessInfo.processInfo.environment["DUCKLING_FAILPOINTS"] ?? ""
        do {
            return try parse(text)
        } catch {
            fatalError("DUCKLING_FAILPOINTS is malformed at '\((error as? FailpointError)?.name ?? text)': expected name=kill|error|pause|count|sleep(MS)[*N],…")
        }
    }

    /// Whether `text` is a valid `DUCKLING_FAILPOINTS` value.
    static func isValidSetting(_ text: String) -> Bool {
        (try? parse(text)) != nil
    }

    /// Parses `DUCKLING_FAILPOINTS`.
    private static func parse(_ text: String) throws -> [String: Point] {
        var points: [String: Point] = [:]
        for item in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, known.contains(parts[0]) else { throw FailpointError(name: item) }
            var spec = parts[1]
            var times: Int?
            if let star = spec.firstIndex(of: "*") {
                guard let count = Int(spec[spec.index(after: star)...]), count > 0 else { throw FailpointError(name: item) }
                times = count
                spec = String(spec[..<star])
            }
            let action: Action
            switch spec {
            case "kill": action = .kill
            case "error": action = .error
            case "pause": action = .pause
            case "count": action = .count
            default:
                guard spec.hasPrefix("sleep("), spec.hasSuffix(")"), let ms = Int(spec.dropFirst(6).dropLast()) else {
                    throw FailpointError(name: item)
                }
                action = .sleep(milliseconds: ms)
            }
            points[parts[0]] = Point(action: action, scope: nil, remaining: times)
        }
        return points
    }
}

/// A failpoint set to `error` fired.
public struct FailpointError: Error, CustomStringConvertible {
    public let name: String
    public var description: String { "failpoint \(name) fired" }
}
