@testable import DuckDBKit
import Foundation
import Synchronization
import Testing

/// The deadlines every ``Interrupter`` shares (``DeadlineTimer``): each fires at its own time,
/// an earlier one set after a later one is not held back, and cancelled ones never fire.
@Suite(.serialized) struct InterrupterDeadlineTests {
    /// When `interrupter` fired, measured from `start`, in milliseconds; nil if it did not.
    private final class Firing: Sendable {
        let at = Mutex<Double?>(nil)
        init(_ interrupter: Interrupter, from start: ContinuousClock.Instant) {
            _ = interrupter.whenInterrupted { [self] reason in
                guard reason == .timeout else { return }
                at.withLock { $0 = (ContinuousClock.now - start).milliseconds }
            }
        }
        var milliseconds: Double? { at.withLock { $0 } }
    }

    @Test func eachDeadlineFiresAtItsOwnTimeWhateverTheOrderTheyWereSet() async throws {
        let start = ContinuousClock.now
        let late = Interrupter(), early = Interrupter(), cancelled = Interrupter(), replaced = Interrupter()
        let lateFiring = Firing(late, from: start), earlyFiring = Firing(early, from: start)
        let cancelledFiring = Firing(cancelled, from: start), replacedFiring = Firing(replaced, from: start)
        // The timer first waits for the late one; the early one, set after it, must re-arm it.
        late.interrupt(at: start + .milliseconds(600))
        early.interrupt(at: start + .milliseconds(100))
        cancelled.interrupt(at: start + .milliseconds(200))
        cancelled.cancelDeadline()
        // A new deadline replaces the old one: this fires at 400 ms, not 50.
        replaced.interrupt(at: start + .milliseconds(50))
        replaced.interrupt(at: start + .milliseconds(400))
        try await Task.sleep(for: .milliseconds(900))

        let earlyAt = try #require(earlyFiring.milliseconds)
        let replacedAt = try #require(replacedFiring.milliseconds)
        let lateAt = try #require(lateFiring.milliseconds)
        #expect(earlyAt >= 100 && earlyAt < 350, "early fired at \(earlyAt) ms")
        #expect(replacedAt >= 400 && replacedAt < 550, "replaced fired at \(replacedAt) ms")
        #expect(lateAt >= 600 && lateAt < 850, "late fired at \(lateAt) ms")
        #expect(cancelledFiring.milliseconds == nil)
        #expect(cancelled.reason == nil)
        #expect(early.reason == .timeout && late.reason == .timeout && replaced.reason == .timeout)
    }

    @Test func anInterrupterThatWasDroppedOrInterruptedLeavesNothingBehind() async throws {
        let before = DeadlineTimer.shared.pending
        do {
            // Dropped with its deadline still set: deinit takes it out.
            let dropped = Interrupter()
            dropped.interrupt(at: .now + .seconds(60))
            // Interrupted by hand: the deadline goes with it.
            let stopped = Interrupter()
            stopped.interrupt(at: .now + .seconds(60))
            stopped.interrupt(.cancelled)
            #expect(stopped.reason == .cancelled)
            #expect(DeadlineTimer.shared.pending.live == before.live + 1)
        }
        #expect(DeadlineTimer.shared.pending.live == before.live)
    }

    @Test func manyQueriesThatEndInTimeKeepTheTimerSmall() {
        let before = DeadlineTimer.shared.pending
        for _ in 0..<20_000 {
            let interrupter = Interrupter()
            interrupter.interrupt(at: .now + .seconds(30))
            interrupter.cancelDeadline()
        }
        let after = DeadlineTimer.shared.pending
        #expect(after.live == before.live)
        // Cancelled entries are compacted away, so memory follows the queries running, not those run.
        #expect(after.heap <= 2 * after.live + 64 + 1, "heap holds \(after.heap) entries for \(after.live) live ones")
    }
}

private extension Duration {
    var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
