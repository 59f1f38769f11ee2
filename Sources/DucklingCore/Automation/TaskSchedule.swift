import Foundation

/// When an automation task runs: at multiples of its interval counted from 00:00 UTC (the seed's
/// "daily at midnight" for 24 h), one slot after its last success; a task never run waits for the
/// next slot, and one whose slot passed while the server was down runs at once.
struct TaskSchedule: Sendable, Equatable {
    let interval: TimeInterval

    /// The first slot strictly after `date`. Intervals of a day or less restart at each midnight
    /// (so 7 h runs at 00:00, 07:00, 14:00, 21:00); longer ones count from the epoch's midnight.
    func slot(after date: Date) -> Date {
        let seconds = date.timeIntervalSince1970
        let origin = interval <= 86_400 ? (seconds / 86_400).rounded(.down) * 86_400 : 0
        let steps = ((seconds - origin) / interval).rounded(.down) + 1
        let candidate = origin + steps * interval
        let nextMidnight = origin + 86_400
        return Date(timeIntervalSince1970: interval <= 86_400 ? min(candidate, nextMidnight) : candidate)
    }

    /// When the task is next due: the slot after its last success (or, never run, the first slot
    /// after `anchor`, when the automation started);
    /// after a failure, a retry 30 s later, doubling per consecutive failure, at most the interval.
    func nextRun(lastSuccess: Date?, lastFinished: Date?, failures: Int, anchor: Date) -> Date {
        if failures > 0, let lastFinished {
            return lastFinished.addingTimeInterval(min(interval, 30 * pow(2, Double(min(failures - 1, 20)))))
        }
        return slot(after: lastSuccess ?? anchor)
    }
}
