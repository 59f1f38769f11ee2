import DuckDBKit
public import Foundation
import Synchronization

/// A run that has been claimed for a dataset and not finished yet: at most one per dataset. Holds
/// the run's interrupter, its progress and whoever waits for its result.
public final class SyncClaim: Sendable {
    public enum Trigger: String, Sendable {
        case schedule, startup, api, cli
        /// Not a run: the dataset is held while its watermarks are reset.
        case resetWatermark = "reset_watermark"
        /// Not a run: cleanup holds the dataset while it drops what a killed run staged.
        case cleanup
    }

    public let runID: String
    public let dataset: String
    public let full: Bool
    public let trigger: Trigger
    public let claimedAt = Date()
    let interrupter = Interrupter()
    private let state = Mutex(State())

    /// Where a run is: waiting (for a slot, the write path), loading its staging tables, or
    /// applying them in its final transaction.
    public enum Phase: Sendable {
        case waiting, loading, applying
    }

    private struct State {
        var rows = 0
        var phase = Phase.waiting
        var result: SyncRunResult?
        var waiters: [CheckedContinuation<SyncRunResult, Never>] = []
    }

    init(dataset: String, full: Bool, trigger: Trigger) {
        self.runID = UUID().uuidString.lowercased()
        self.dataset = dataset
        self.full = full
        self.trigger = trigger
    }

    /// Rows moved so far.
    public var progressRows: Int { state.withLock { $0.rows } }

    func report(rows: Int) {
        state.withLock { $0.rows = rows }
    }

    var phase: Phase { state.withLock { $0.phase } }

    func enter(_ phase: Phase) {
        state.withLock { $0.phase = phase }
    }

    /// Waits until the run ends.
    public func result() async -> SyncRunResult {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> SyncRunResult? in
                if let result = state.result { return result }
                state.waiters.append(continuation)
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    func finish(_ result: SyncRunResult) {
        let waiters = state.withLock { state in
            state.result = result
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume(returning: result) }
    }

    /// Stops the run; what it wrote is rolled back.
    public func cancel() {
        interrupter.interrupt(.cancelled)
    }
}
