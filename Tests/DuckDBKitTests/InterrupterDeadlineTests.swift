@testable import DuckDBKit
import Foundation
import Synchronization
import Testing

/// The deadlines every ``Interrupter`` shares (``DeadlineTimer``): each fires at its own time,
/// an earlier one set after a later one is not held back, and cancelled ones never fire.
struct InterrupterDeadlineTests {
    /// When an interrupter fired with a timeout, measured from `start`, in milliseconds.
    private final class Firing: Sendable {
        private let at = Mutex<Double?>(nil)
        private let waiters = EventWaiters()

        init(_ interrupter: Interrupter, from start: ContinuousClock.Instant) {
            _ = interrupter.whenInterrupted { [self] reason in
                guard reason == .timeout else { return }
                at.withLock { $0 = (ContinuousClock.now - start).milliseconds }
                waiters.resumeAll()
            }
        }

        var milliseconds: Double? { at.withLock { $0 } }

        /// Waits until it fired (at most `limit`), and returns when.
        func wait(limit: Duration = .seconds(10)) async throws -> Double {
            _ = await waiters.wait(within: limit) { self.milliseconds != nil }
            return try #require(milliseconds, "did not fire within \(limit)")
        }
    }

    @Test func eachDeadlineFiresAtItsOwnTimeWhateverTheOrderTheyWereSet() async throws {
        let start = ContinuousClock.now
        let late = Interrupter(), early = Interrupter(), cancelled = Interrupter(), replaced = Interrupter()
        let lateFiring = Firing(late, from: start), earlyFiring = Firing(early, from: start)
        let cancelledFiring = Firing(cancelled, from: start), replacedFiring = Firing(replaced, from: start)
        // The timer first waits for the late one; the early one, set after it, must re-arm it.
        late.interrupt(at: start + .milliseconds(900))
        early.interrupt(at: start + .milliseconds(100))
        cancelled.interrupt(at: start + .milliseconds(200))
        cancelled.cancelDeadline()
        // A new deadline replaces the old one: this fires at 400 ms, not 50.
        replaced.interrupt(at: start + .milliseconds(50))
        replaced.interrupt(at: start + .milliseconds(400))

        let earlyAt = try await earlyFiring.wait()
        let replacedAt = try await replacedFiring.wait()
        let lateAt = try await lateFiring.wait()
        #expect(earlyAt >= 100, "early fired at \(earlyAt) ms")
        // Held back until the late deadline, it would have fired with it.
        #expect(earlyAt < lateAt - 300, "early fired at \(earlyAt) ms, late at \(lateAt) ms")
        #expect(replacedAt >= 400, "replaced fired at \(replacedAt) ms")
        #expect(lateAt >= 900, "late fired at \(lateAt) ms")
        // Its deadline (200 ms) passed before the late one fired, so it would have fired by now.
        #expect(cancelledFiring.milliseconds == nil)
        #expect(cancelled.reason == nil)
        #expect(early.reason == .timeout && late.reason == .timeout && replaced.reason == .timeout)
    }

    @Test func deadlinesSetAfterManyCompactionsStillFireInOrder() async throws {
        // Enough set-and-cancelled deadlines to compact the shared heap many times over.
        for _ in 0..<5_000 {
            let interrupter = Interrupter()
            interrupter.interrupt(at: .now + .seconds(30))
            interrupter.cancelDeadline()
        }
        let start = ContinuousClock.now
        let third = Interrupter(), first = Interrupter(), second = Interrupter()
        let firings = [first, second, third].map { Firing($0, from: start) }
        third.interrupt(at: start + .milliseconds(450))
        first.interrupt(at: start + .milliseconds(50))
        second.interrupt(at: start + .milliseconds(250))
        var times: [Double] = []
        for firing in firings { times.append(try await firing.wait()) }
        #expect(times[0] >= 50 && times[1] >= 250 && times[2] >= 450, "fired at \(times) ms")
        #expect(times[0] < times[1] && times[1] < times[2], "fired at \(times) ms")
        // And with the heap empty and the timer idle, a deadline already past fires at once.
        let late = Interrupter()
        let lateFiring = Firing(late, from: .now)
        late.interrupt(at: .now - .seconds(1))
        #expect(try await lateFiring.wait() < 1_000)
    }

    @Test func aDeadlineReplacedAfterItWasDueDoesNotTimeOutTheNewOne() throws {
        let interrupter = Interrupter()
        interrupter.interrupt(at: .now + .seconds(60))
        let old = try #require(interrupter.deadlineID)
        interrupter.interrupt(at: .now + .seconds(60))
        // The timer took the old entry out just before the replacement, and reports it now.
        interrupter.timeOut(ifDeadline: old)
        #expect(interrupter.reason == nil)
        interrupter.cancelDeadline()
        interrupter.timeOut(ifDeadline: old)
        #expect(interrupter.reason == nil)
        // The deadline that is still its own does fire.
        interrupter.interrupt(at: .now + .seconds(60))
        interrupter.timeOut(ifDeadline: try #require(interrupter.deadlineID))
        #expect(interrupter.reason == .timeout)
    }

    @Test func anInterrupterThatWasDroppedOrInterruptedLeavesNothingBehind() throws {
        let droppedID: UInt64
        do {
            // Dropped with its deadline still set: deinit takes it out.
            let dropped = Interrupter()
            dropped.interrupt(at: .now + .seconds(60))
            droppedID = try #require(dropped.deadlineID)
            #expect(DeadlineTimer.shared.isPending(droppedID))
        }
        #expect(!DeadlineTimer.shared.isPending(droppedID))
        // Interrupted by hand: the deadline goes with it, and a later one is not set.
        let stopped = Interrupter()
        stopped.interrupt(at: .now + .seconds(60))
        let stoppedID = try #require(stopped.deadlineID)
        stopped.interrupt(.cancelled)
        #expect(stopped.reason == .cancelled)
        #expect(!DeadlineTimer.shared.isPending(stoppedID))
        stopped.interrupt(at: .now + .seconds(60))
        #expect(stopped.deadlineID == nil)
    }

    @Test func manyDeadlinesCancelledInTimeKeepTheTimerSmall() {
        // A timer of its own, so queries other tests run meanwhile do not count.
        let timer = DeadlineTimer()
        let interrupter = Interrupter()
        let running = (0..<10).map { _ in timer.schedule(interrupter, at: DispatchTime.now().uptimeNanoseconds + 60_000_000_000) }
        for _ in 0..<20_000 {
            timer.cancel(timer.schedule(interrupter, at: DispatchTime.now().uptimeNanoseconds + 30_000_000_000))
        }
        let pending = timer.pending
        #expect(pending.live == running.count)
        // Cancelled entries are compacted away, so memory follows the queries running, not those run.
        #expect(pending.heap <= 2 * pending.live + 64 + 1, "the heap holds \(pending.heap) entries for \(pending.live) live ones")
        running.forEach(timer.cancel)
    }
}

private extension Duration {
    var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
