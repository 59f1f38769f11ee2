@testable import DucklingCore
import Foundation
import Testing

@Suite struct TaskScheduleTests {
    static let midnight = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01T00:00:00Z

    @Test func slotsAlignToTheIntervalCountedFromMidnightUTC() {
        let daily = TaskSchedule(interval: 86_400)
        #expect(daily.slot(after: Self.midnight.addingTimeInterval(5)) == Self.midnight.addingTimeInterval(86_400))
        #expect(daily.slot(after: Self.midnight) == Self.midnight.addingTimeInterval(86_400), "strictly after")
        let quarter = TaskSchedule(interval: 900)
        #expect(quarter.slot(after: Self.midnight.addingTimeInterval(901)) == Self.midnight.addingTimeInterval(1800))
        // 7 h does not divide a day: 00:00, 07:00, 14:00, 21:00, then the next midnight.
        let seven = TaskSchedule(interval: 7 * 3600)
        #expect(seven.slot(after: Self.midnight.addingTimeInterval(21 * 3600 + 1)) == Self.midnight.addingTimeInterval(86_400))
        #expect(seven.slot(after: Self.midnight.addingTimeInterval(13 * 3600)) == Self.midnight.addingTimeInterval(14 * 3600))
        // Longer than a day: multiples from the epoch.
        let twoDays = TaskSchedule(interval: 2 * 86_400)
        let next = twoDays.slot(after: Self.midnight)
        #expect(next > Self.midnight && next.timeIntervalSince1970.truncatingRemainder(dividingBy: 2 * 86_400) == 0)
    }

    @Test func aTaskRunsAtTheSlotAfterItsLastSuccessAndBacksOffAfterFailures() {
        let hourly = TaskSchedule(interval: 3600)
        let anchor = Self.midnight.addingTimeInterval(10)
        #expect(hourly.nextRun(lastSuccess: nil, lastFinished: nil, failures: 0, anchor: anchor) == Self.midnight.addingTimeInterval(3600))
        // Overdue: a slot already past is due at once.
        let old = Self.midnight.addingTimeInterval(-7200)
        #expect(hourly.nextRun(lastSuccess: old, lastFinished: old, failures: 0, anchor: anchor) < anchor)
        let failed = Self.midnight.addingTimeInterval(100)
        #expect(hourly.nextRun(lastSuccess: old, lastFinished: failed, failures: 1, anchor: anchor) == failed.addingTimeInterval(30))
        #expect(hourly.nextRun(lastSuccess: old, lastFinished: failed, failures: 3, anchor: anchor) == failed.addingTimeInterval(120))
        #expect(hourly.nextRun(lastSuccess: old, lastFinished: failed, failures: 30, anchor: anchor) == failed.addingTimeInterval(3600))
    }
}

@Suite struct CircuitBreakerTests {
    @Test func opensAfterConsecutiveEngineFailuresAndOneProbeClosesIt() async throws {
        let breaker = CircuitBreaker(threshold: 2, cooldown: .milliseconds(100))
        let first = try breaker.admit(database: "d")
        breaker.record(.engineFailure, admission: first)
        breaker.record(.neutral, admission: try breaker.admit(database: "d"))
        #expect(breaker.snapshot.state == .closed)
        breaker.record(.engineFailure, admission: try breaker.admit(database: "d"))
        #expect(breaker.snapshot.state == .open)
        #expect(throws: QueryError.self) { try breaker.admit(database: "d") }
        try await Task.sleep(for: .milliseconds(150))
        let probe = try breaker.admit(database: "d")
        // While the probe runs, others are refused, and an earlier query's success does not close it.
        #expect(throws: QueryError.self) { try breaker.admit(database: "d") }
        breaker.record(.success, admission: first)
        #expect(breaker.snapshot.state == .halfOpen)
        breaker.record(.success, admission: probe)
        #expect(breaker.snapshot.state == .closed)
    }

    @Test func aVerdictFromBeforeAResetIsIgnored() throws {
        let breaker = CircuitBreaker(threshold: 1, cooldown: .seconds(60))
        let before = try breaker.admit(database: "d")
        breaker.reset()
        breaker.record(.engineFailure, admission: before)
        #expect(breaker.snapshot.state == .closed)
        breaker.record(.engineFailure, admission: try breaker.admit(database: "d"))
        #expect(breaker.snapshot.state == .open)
        breaker.reset()
        #expect(breaker.snapshot.state == .closed && breaker.snapshot.consecutiveFailures == 0)
    }
}
