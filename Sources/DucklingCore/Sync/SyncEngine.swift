public import Logging
import DuckDBKit
import Foundation
import Synchronization

/// Syncs the datasets of one database (DESIGN.md §5): at most one run per dataset, up to
/// `sync_workers` at once, failures retried with backoff and, after repeated failures, rebuilt in full.
public final class SyncEngine: Sendable {
    public let database: ManagedDatabase
    private let engine: EngineSettings
    private let logger: Logger
    private let sources: SourceInstance?
    private let setupError: String?
    private let slots: AsyncSemaphore
    private let state = Mutex(State())

    private struct State {
        var persisted: [String: SyncStateStore.Persisted] = [:]
        var running: [String: SyncClaim] = [:]
        var nextRun: [String: Date] = [:]
        var prepared = false
        /// Why new runs are refused (a restore is replacing the file), or nil.
        var paused: String?
    }

    /// Consecutive failures after which the next run rebuilds in full.
    static let failuresBeforeFullRebuild = 3

    public init(database: ManagedDatabase, engine: EngineSettings, logger: Logger) {
        self.database = database
        self.engine = engine
        var logger = logger
        logger[metadataKey: "duckling.database"] = .string(database.id)
        self.logger = logger
        self.slots = AsyncSemaphore(permits: max(1, engine.syncWorkers))
        let redactor = SecretRedactor(sources: database.settings.sources)
        if database.settings.datasets.isEmpty {
            (sources, setupError) = (nil, nil)
        } else {
            do {
                (sources, setupError) = (try SourceInstance(engine: engine, redactor: redactor), nil)
            } catch {
                (sources, setupError) = (nil, redactor.redact(String(describing: error)))
            }
        }
    }

    var settings: DatabaseSettings { database.settings }

    /// Starts loading the scanner extensions the datasets need, in the background (it takes a
    /// noticeable part of a small run), so that it overlaps opening the database.
    public func preloadSources() {
        sources?.preload(Set(settings.datasets.compactMap { settings.source($0.source)?.kind }))
    }

    /// Creates the metadata tables, loads what earlier runs recorded, marks runs a crash cut off,
    /// and plans the first runs: now for datasets synced at startup, else after their interval.
    public func prepare(startup: Bool) async throws {
        let persisted = try await loadPersisted()
        let now = Date()
        state.withLock { state in
            state.persisted = persisted
            state.prepared = true
            for dataset in settings.datasets {
                let mode = dataset.syncMode ?? engine.syncMode
                guard settings.automation.autoStartSync, mode == .startup else { continue }
                if startup {
                    state.nextRun[dataset.name] = now
                } else if let interval = interval(of: dataset) {
                    state.nextRun[dataset.name] = now.addingTimeInterval(interval)
                }
            }
        }
    }

    /// Claims a run of `dataset`; throws ``SyncError/alreadyRunning`` with the running run's id.
    public func claim(_ dataset: String, full: Bool, trigger: SyncClaim.Trigger) throws -> SyncClaim {
        guard settings.dataset(dataset) != nil else { throw SyncError.unknownDataset(dataset) }
        return try state.withLock { state in
            if let reason = state.paused { throw SyncError.paused(reason) }
            if let running = state.running[dataset] {
                throw SyncError.alreadyRunning(dataset: dataset, runID: running.runID)
            }
            let claim = SyncClaim(dataset: dataset, full: full, trigger: trigger)
            state.running[dataset] = claim
            return claim
        }
    }

    /// Runs `body` (a restore) with syncing stopped: new runs are refused, running ones finish first.
    /// Afterwards the recorded state is read again from the (possibly replaced) database.
    public func withSyncPaused<T: Sendable>(reason: String, _ body: () async throws -> T) async throws -> T {
        try state.withLock { state in
            if let other = state.paused { throw SyncError.paused(other) }
            state.paused = reason
        }
        defer { state.withLock { $0.paused = nil } }
        while !state.withLock({ $0.running.isEmpty }) {
            try await Task.sleep(for: .milliseconds(50))
        }
        let result = try await body()
        if state.withLock({ $0.prepared }) {
            let persisted = try await loadPersisted()
            state.withLock { $0.persisted = persisted }
        }
        return result
    }

    private func loadPersisted() async throws -> [String: SyncStateStore.Persisted] {
        try await database.withSyncWriter { writer in
            try await writer.run { connection in
                try SyncStateStore.createTables(on: connection)
                try SyncStateStore.markInterruptedRuns(on: connection)
                return try SyncStateStore.load(on: connection)
            }
        }
    }

    /// Whether `claim` is this engine's current claim for its dataset.
    func isClaimed(_ claim: SyncClaim) -> Bool {
        state.withLock { $0.running[claim.dataset] === claim }
    }

    /// Claims every dataset that is due; used by the scheduler.
    func claimDue(at now: Date) -> [SyncClaim] {
        settings.datasets.compactMap { dataset in
            let due = state.withLock { state in
                state.prepared && state.running[dataset.name] == nil && (state.nextRun[dataset.name].map { $0 <= now } ?? false)
            }
            guard due else { return nil }
            return try? claim(dataset.name, full: false, trigger: .schedule)
        }
    }

    /// Runs a claimed sync to its end and records the outcome; never throws (the result says how it went).
    public func execute(_ claim: SyncClaim) async -> SyncRunResult {
        let started = Date()
        let result: SyncRunResult
        do {
            try await slots.acquire(interrupter: claim.interrupter)
            defer { slots.release() }
            result = try await perform(claim, started: started)
        } catch {
            result = await recordFailure(of: claim, error: error, started: started)
        }
        state.withLock { state in
            state.running[claim.dataset] = nil
            if let dataset = settings.dataset(claim.dataset) {
                state.nextRun[claim.dataset] = nextRun(of: dataset, after: result, failures: state.persisted[claim.dataset]?.consecutiveFailures ?? 0)
            }
        }
        claim.finish(result)
        logger.log(level: result.status == .succeeded ? .info : .warning, "sync finished", metadata: [
            "duckling.dataset": .string(claim.dataset), "duckling.run_id": .string(claim.runID),
            "duckling.status": .string(result.status.rawValue), "duckling.sync_type": .string(result.syncType),
            "duckling.rows_read": .stringConvertible(result.rowsRead), "duckling.duration_ms": .stringConvertible(result.durationMs),
            "duckling.error": .string(result.error ?? ""),
        ])
        return result
    }

    /// Claims and executes in one go (the CLI, `?wait=true`).
    public func run(_ dataset: String, full: Bool, trigger: SyncClaim.Trigger) async throws -> SyncRunResult {
        await execute(try claim(dataset, full: full, trigger: trigger))
    }

    private func perform(_ claim: SyncClaim, started: Date) async throws -> SyncRunResult {
        guard let dataset = settings.dataset(claim.dataset), let source = settings.source(dataset.source) else {
            throw SyncError.unknownDataset(claim.dataset)
        }
        guard let sources else { throw SyncError.setup(setupError ?? "syncing is not available") }
        let previous = state.withLock { $0.persisted[dataset.name] } ?? SyncStateStore.Persisted()
        let full = claim.full || previous.forceFull || !settings.automation.enableIncrementalSync || dataset.incrementalColumn == nil
        try await database.withSyncWriter { writer in
            try await writer.run { connection in
                try SyncStateStore.recordStart(runID: claim.runID, dataset: dataset.name, trigger: claim.trigger.rawValue,
                                               syncType: full ? "full" : "incremental", at: started, on: connection)
            }
        }
        logger.info("sync started", metadata: [
            "duckling.dataset": .string(dataset.name), "duckling.run_id": .string(claim.runID), "duckling.full": .stringConvertible(full),
        ])
        let run = SyncRun(
            runID: claim.runID, dataset: dataset, source: source, database: database, sources: sources, engine: engine,
            forceFull: full, previous: previous, interrupter: claim.interrupter, started: started, logger: logger,
            progress: { claim.report(rows: $0) })
        let outcome = try await run.execute()
        state.withLock { $0.persisted[dataset.name] = outcome.state }
        return SyncRunResult(
            runID: claim.runID, dataset: dataset.name, status: .succeeded, syncType: outcome.state.syncType ?? "full",
            rows: outcome.state.rows, rowsRead: outcome.rowsRead, truncated: outcome.state.truncated,
            durationMs: outcome.state.durationMs ?? 0, error: nil)
    }

    private func recordFailure(of claim: SyncClaim, error: any Error, started: Date) async -> SyncRunResult {
        let cancelled = claim.interrupter.reason == .cancelled || error is CancellationError
        let message = sources?.redactor.redact(Self.message(for: error)) ?? Self.message(for: error)
        var failed = state.withLock { $0.persisted[claim.dataset] } ?? SyncStateStore.Persisted()
        if !cancelled {
            failed.consecutiveFailures += 1
            if failed.consecutiveFailures >= Self.failuresBeforeFullRebuild { failed.forceFull = true }
        }
        failed.lastError = cancelled ? "cancelled: \(message)" : message
        failed.lastStatus = cancelled ? "cancelled" : "failed"
        failed.lastRunID = claim.runID
        failed.lastAttempt = started
        failed.durationMs = Int(Date().timeIntervalSince(started) * 1000)
        let recorded = failed
        do {
            try await database.withSyncWriter { writer in
                try await writer.run { connection in
                    try SyncStateStore.recordFailure(dataset: claim.dataset, state: recorded, runID: claim.runID,
                                                     rowsRead: claim.progressRows, finishedAt: Date(), on: connection)
                }
            }
        } catch {
            logger.error("could not record a failed sync", metadata: ["duckling.error": .string(String(describing: error))])
        }
        state.withLock { $0.persisted[claim.dataset] = recorded }
        return SyncRunResult(
            runID: claim.runID, dataset: claim.dataset, status: cancelled ? .cancelled : .failed, syncType: failed.syncType ?? "full",
            rows: failed.rows, rowsRead: claim.progressRows, truncated: false, durationMs: recorded.durationMs ?? 0, error: recorded.lastError)
    }

    static func message(for error: any Error) -> String {
        switch error {
        case let error as DuckDBError: error.message
        case let error as SyncError: error.description
        default: String(describing: error)
        }
    }

    // MARK: - Watermarks and status

    /// Clears a dataset's watermarks: its next run is a full rebuild.
    public func resetWatermark(_ dataset: String) async throws {
        guard settings.dataset(dataset) != nil else { throw SyncError.unknownDataset(dataset) }
        if let running = state.withLock({ $0.running[dataset] }) {
            throw SyncError.alreadyRunning(dataset: dataset, runID: running.runID)
        }
        try await database.withSyncWriter { writer in
            try await writer.run { try SyncStateStore.resetWatermarks(dataset: dataset, on: $0) }
        }
        state.withLock { state in
            state.persisted[dataset, default: .init()].watermarks = [:]
            state.persisted[dataset, default: .init()].forceFull = true
        }
    }

    public func status() -> [String: DatasetStatus] {
        state.withLock { state in
            Dictionary(uniqueKeysWithValues: settings.datasets.map { dataset in
                let persisted = state.persisted[dataset.name] ?? .init()
                let running = state.running[dataset.name]
                let merge = dataset.incrementalColumn == nil ? "full" : (dataset.primaryKey.isEmpty ? "append_only" : "primary_key")
                let status = DatasetStatus(
                    state: running != nil ? .syncing : persisted.lastStatus == "failed" ? .error : persisted.lastStatus == nil ? .idle : .ready,
                    rows: persisted.rows, syncType: persisted.syncType, lastFull: persisted.lastFull,
                    lastIncremental: persisted.lastIncremental, incrementalRows: persisted.incrementalRows,
                    watermarks: persisted.watermarks.mapValues(\.value), refreshIntervalMinutes: interval(of: dataset).map { Int($0 / 60) },
                    incrementalColumn: dataset.incrementalColumn, merge: merge, truncated: persisted.truncated,
                    lastError: persisted.lastError, durationMs: persisted.durationMs, nextRun: state.nextRun[dataset.name],
                    reconciled: persisted.reconciled, runID: running?.runID, lastRunID: persisted.lastRunID,
                    consecutiveFailures: persisted.consecutiveFailures, progressRows: running?.progressRows)
                return (dataset.name, status)
            })
        }
    }

    /// The running claims, to cancel them on shutdown.
    public func cancelAll() {
        for claim in state.withLock({ Array($0.running.values) }) { claim.cancel() }
    }

    // MARK: - Schedule

    /// Seconds between scheduled runs of `dataset`, or nil when it is not scheduled.
    private func interval(of dataset: DatasetSettings) -> TimeInterval? {
        let minutes = dataset.refreshIntervalMinutes ?? settings.automation.syncIntervalMinutes
        return minutes > 0 ? TimeInterval(minutes * 60) : nil
    }

    /// After a success, one interval later; after a failure, a backoff of 30 s doubling per failure,
    /// at most the interval. Nothing when the dataset is not scheduled.
    private func nextRun(of dataset: DatasetSettings, after result: SyncRunResult, failures: Int) -> Date? {
        let mode = dataset.syncMode ?? engine.syncMode
        guard settings.automation.autoStartSync, mode == .startup, let interval = interval(of: dataset) else { return nil }
        guard result.status == .failed else { return Date().addingTimeInterval(interval) }
        let backoff = 30 * pow(2, Double(max(0, failures - 1)))
        return Date().addingTimeInterval(min(backoff, interval))
    }
}
