import Synchronization

/// A database's circuit breaker (DESIGN.md §6): after `threshold` consecutive engine failures
/// (I/O, out of memory, internal errors, an invalidated instance) it opens and refuses queries
/// with 503 `circuit_open` for `cooldown`; then it lets one probe through, closes when the probe
/// succeeds and opens again when it fails. Caller mistakes (bad SQL, refusals, the caller's own
/// time limit) neither count nor reset the count.
public final class CircuitBreaker: Sendable {
    public enum State: String, Sendable, Codable {
        case closed, open
        case halfOpen = "half_open"
    }

    /// What a finished query says about the engine.
    enum Verdict {
        case success, engineFailure, neutral
    }

    /// How a query was let in: as an ordinary query or as the one probe of a half-open breaker,
    /// and under which reset (a verdict from before the last reset is ignored).
    public struct Admission: Sendable {
        let probe: Bool
        let epoch: Int

        /// For a database without a breaker.
        static let unchecked = Admission(probe: false, epoch: -1)
    }

    public struct Snapshot: Sendable, Codable {
        public let state: State
        public let consecutiveFailures: Int
        public let threshold: Int
        public let cooldownSeconds: Int
        /// Seconds until a probe is let through, while open.
        public let retryAfterSeconds: Int?
        public let timesOpened: Int
        public let lastFailure: String?

        enum CodingKeys: String, CodingKey {
            case state, threshold
            case consecutiveFailures = "consecutive_failures"
            case cooldownSeconds = "cooldown_seconds"
            case retryAfterSeconds = "retry_after_seconds"
            case timesOpened = "times_opened"
            case lastFailure = "last_failure"
        }
    }

    private struct Inner {
        var state: State = .closed
        var failures = 0
        var openedAt: ContinuousClock.Instant?
        var probing = false
        var timesOpened = 0
        var lastFailure: String?
        /// Bumped by ``reset()``.
        var epoch = 0
    }

    public let threshold: Int
    public let cooldown: Duration
    private let inner = Mutex(Inner())

    /// `threshold` 0 turns the breaker off: it never opens.
    public init(threshold: Int, cooldown: Duration) {
        self.threshold = threshold
        self.cooldown = cooldown
    }

    /// Lets a query in, or throws 503 `circuit_open` with the seconds until the next probe.
    func admit(database: String) throws -> Admission {
        try inner.withLock { inner in
            switch inner.state {
            case .closed:
                return Admission(probe: false, epoch: inner.epoch)
            case .open:
                let elapsed = inner.openedAt.map { ContinuousClock.now - $0 } ?? cooldown
                guard elapsed >= cooldown else {
                    throw Self.refusal(database: database, retryAfter: cooldown - elapsed, lastFailure: inner.lastFailure)
                }
                inner.state = .halfOpen
                inner.probing = true
                return Admission(probe: true, epoch: inner.epoch)
            case .halfOpen:
                guard !inner.probing else {
                    throw Self.refusal(database: database, retryAfter: .seconds(1), lastFailure: inner.lastFailure)
                }
                inner.probing = true
                return Admission(probe: true, epoch: inner.epoch)
            }
        }
    }

    func record(_ verdict: Verdict, admission: Admission, message: String? = nil) {
        guard threshold > 0 else { return }
        inner.withLock { inner in
            // What a query admitted before a reset says is about the breaker the reset replaced.
            guard admission.epoch == inner.epoch else { return }
            if admission.probe { inner.probing = false }
            switch verdict {
            case .success:
                inner.failures = 0
                // Only the probe closes a half-open breaker.
                if admission.probe { inner.state = .closed }
            case .engineFailure:
                inner.failures += 1
                inner.lastFailure = message.map { String($0.prefix(300)) }
                if admission.probe || (inner.state == .closed && inner.failures >= threshold) {
                    inner.state = .open
                    inner.openedAt = .now
                    inner.timesOpened += 1
                }
            case .neutral:
                break
            }
        }
    }

    /// Closes the breaker at once (`POST /api/circuit-breaker/reset`).
    public func reset() {
        inner.withLock { inner in
            inner.state = .closed
            inner.failures = 0
            inner.openedAt = nil
            inner.probing = false
            inner.epoch += 1
        }
    }

    public var snapshot: Snapshot {
        inner.withLock { inner in
            let remaining = inner.state == .open ? inner.openedAt.map { cooldown - (ContinuousClock.now - $0) } : nil
            return Snapshot(
                state: inner.state, consecutiveFailures: inner.failures, threshold: threshold,
                cooldownSeconds: Int(cooldown.components.seconds),
                retryAfterSeconds: remaining.map { max(0, Int(($0.milliseconds / 1000).rounded(.up))) },
                timesOpened: inner.timesOpened, lastFailure: inner.lastFailure)
        }
    }

    private static func refusal(database: String, retryAfter: Duration, lastFailure: String?) -> QueryError {
        QueryError(.unavailable, code: "circuit_open",
                   message: "queries of '\(database)' are paused after repeated engine failures" + (lastFailure.map { " (last: \($0))" } ?? ""),
                   retryAfterSeconds: max(1, Int((retryAfter.milliseconds / 1000).rounded(.up))))
    }
}
