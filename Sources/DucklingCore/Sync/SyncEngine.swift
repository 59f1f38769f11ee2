public import Logging
import DuckDBKit
import Foundation
import ObjectStorage
import Synchronization

/// Syncs the datasets of one database (DESIGN.md §5): at most one run per dataset, up to
/// `sync_workers` at once, failures retried with backoff and, after repeated failures, rebuilt in full.
public final class SyncEngine: Sendable {
    public let database: ManagedDatabase
    private let engine: EngineSettings
    let logger: Logger
    let redactor: SecretRedactor
    /// Where each run's lineage and status go.
    public let reporter: JobReporter
    private let slots: AsyncSemaphore
    /// One preparation at a time; a failed one is retried by the next caller.
    private let preparation = AsyncSemaphore(permits: 1)
    private let state = Mutex(State())
    /// Waiting until no run is going (a restore pausing syncs).
    private let idleWaiters = EventWaiters()

    private struct State {
        var persisted: [String: SyncStateStore.Persisted] = [:]
        var running: [String: SyncClaim] = [:]
        var nextRun: [String: Date] = [:]
        var prepared = false
        var lastPreparationAttempt: Date?
        /// The instance that reads the sources, once prepared (nil without datasets or when it failed).
        var sources: SourceInstance?
        var sourceSetupError: String?
        /// Why new runs are refused (a restore is replacing the file), or nil.
        var paused: String?
        /// How long a restore waits for running syncs before cancelling them.
        var pausePatience: Duration = .seconds(30)
        /// Automation is stopped for this database: scheduled runs wait (requested ones still run).
        var schedulingPaused = false
        /// The first runs were planned before the recorded state was loaded: they are moved to one
        /// interval after each dataset's last run once it is.
        var firstRunsFromRecord = false
    }

    /// Consecutive failures after which the next run rebuilds in full.
    static let failuresBeforeFullRebuild = 3

    public init(database: ManagedDatabase, engine: EngineSettings, reporter: JobReporter = .silent, logger: Logger) {
        self.database = database
        self.engine = engine
        self.reporter = reporter
        var logger = logger
        logger[metadataKey: "duckling.database"] = .string(database.id)
        self.logger = logger
        self.slots = AsyncSemaphore(permits: max(1, engine.syncWorkers))
        self.redactor = SecretRedactor(sources: database.settings.sources)
        state.withLock { $0.schedulingPaused = !database.settings.automation.autoStartSync }
    }

    /// Stops or resumes scheduled runs (automation stop and start); requested runs are not affected.
    public func setSchedulingPaused(_ paused: Bool) {
        state.withLock { $0.schedulingPaused = paused }
    }


    var settings: DatabaseSettings { database.settings }

    /// How long a restore waits for running syncs to finish before it cancels them (they roll back).
    public func setPausePatience(_ patience: Duration) {
        state.withLock { $0.pausePatience = patience }
    }

    /// The instance that reads the sources, once prepared.
    var sourceDatabase: Database? { state.withLock { $0.sources?.database } }
    var sourceInstance: SourceInstance? { state.withLock { $0.sources } }
    var sourceSetupError: String? { state.withLock { $0.sourceSetupError } }

    /// Makes sure the engine is ready to run: the metadata tables exist, what earlier runs recorded
    /// is loaded (runs a crash cut off are marked), and the instance that reads the sources is open
    /// with its scanner extensions loading in the background. Done once; concurrent callers wait
    /// for the same preparation, and after a failure the next caller tries again.
    public func ensurePrepared() async throws {
        try await ensurePrepared(interrupter: nil)
    }

    /// A run passes its `interrupter`, so that cancelling it (a restore out of patience, shutdown)
    /// also stops its wait for the preparation.
    func ensurePrepared(interrupter: Interrupter?) async throws {
        if state.withLock({ $0.prepared }) { return }
        try await preparation.acquire(interrupter: interrupter)
        defer { preparation.release() }
        if state.withLock({ $0.prepared }) { return }
        state.withLock { $0.lastPreparationAttempt = Date() }
        try await Failpoints.hit("sync.prepare", scope: settings.path)
        let persisted = try await loadPersisted()
        var sources: SourceInstance?
        var setupError: String?
        if !settings.datasets.isEmpty && state.withLock({ $0.sources == nil }) {
            do {
                let instance = try await BlockingIO.run { [engine, database, redactor] in
                    try SourceInstance(engine: engine, memoryLimit: database.memory.sourceLimit, redactor: redactor)
                }
                instance.preload(Set(settings.datasets.compactMap { settings.source($0.source)?.kind }), logger: logger)
                sources = instance
            } catch {
                setupError = redactor.redact(String(describing: error))
            }
        }
        state.withLock { state in
            state.persisted = persisted
            if let sources { state.sources = sources }
            state.sourceSetupError = setupError
            state.prepared = true
            if state.firstRunsFromRecord {
                // A restart neither repeats a run that just happened nor skips one that is overdue.
                state.firstRunsFromRecord = false
                let now = Date()
                for dataset in settings.datasets {
                    guard state.nextRun[dataset.name] != nil, let interval = interval(of: dataset),
                          let last = persisted[dataset.name], last.lastStatus == "succeeded", let attempt = last.lastAttempt else { continue }
                    state.nextRun[dataset.name] = max(now, attempt.addingTimeInterval(interval))
                }
            }
        }
    }

    /// Prepares when it is time to try again after a failure (every 5 s); for the scheduler.
    func retryPreparationIfDue(now: Date) async {
        // Not while a restore has syncing paused: it holds the preparation until the new file is in.
        let due = state.withLock { state in
            !state.prepared && state.paused == nil && (state.lastPreparationAttempt.map { now.timeIntervalSince($0) >= 5 } ?? true)
        }
        guard due else { return }
        do {
            try await ensurePrepared()
        } catch {
            logger.error("sync state could not be loaded; trying again", metadata: ["duckling.error": .string(String(describing: error))])
        }
    }

    /// Plans the first runs: when `startup`, now for datasets never synced and one interval after
    /// the last run for the others (once the recorded state is loaded); else after their interval.
    public func planFirstRuns(startup: Bool) {
        let now = Date()
        state.withLock { state in
            state.firstRunsFromRecord = startup
            for dataset in settings.datasets {
                let mode = dataset.syncMode ?? engine.syncMode
                guard mode == .startup else { continue }
                if startup {
                    state.nextRun[dataset.name] = now
                } else if let interval = interval(of: dataset) {
                    state.nextRun[dataset.name] = now.addingTimeInterval(interval)
                }
            }
        }
    }

    /// Closes the instance that reads the sources (at shutdown, after the last run).
    public func close() async {
        let sources = state.withLock { state -> SourceInstance? in
            defer { state.sources = nil; state.prepared = false }
            return state.sources
        }
        await sources?.close(logger: logger)
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

    /// Runs `body` (a restore) with syncing stopped: new runs are refused, running ones get the
    /// pause patience to finish and are then cancelled (they roll back). Afterwards the recorded
    /// state is read again from the (possibly replaced) database.
    public func withSyncPaused<T: Sendable>(reason: String, _ body: () async throws -> T) async throws -> T {
        let patience = try state.withLock { state in
            if let other = state.paused { throw SyncError.paused(other) }
            state.paused = reason
            return state.pausePatience
        }
        defer { state.withLock { $0.paused = nil } }
        if await !waitUntilIdle(within: patience) {
            logger.warning("cancelling running syncs so that the restore can go on")
            cancelAll()
            guard await waitUntilIdle(within: .seconds(60)) else {
                throw SyncError.paused("running syncs did not stop; try the restore again")
            }
        }
        // Taken once no run is left (a run may be waiting for a preparation): from here no
        // preparation may load the old file's state while it is replaced.
        try await preparation.acquire()
        defer { preparation.release() }
        let result = try await body()
        if state.withLock({ $0.prepared }) {
            do {
                let persisted = try await loadPersisted()
                state.withLock { $0.persisted = persisted }
            } catch {
                // The restore itself succeeded; the next run loads the state again.
                state.withLock { $0.prepared = false }
                logger.error("the restored sync state could not be loaded; the next run loads it", metadata: ["duckling.error": .string(String(describing: error))])
            }
        }
        return result
    }

    /// Waits until no run is going, or `patience` has passed (then false). Waits for the event.
    private func waitUntilIdle(within patience: Duration) async -> Bool {
        await idleWaiters.wait(within: patience) { [self] in state.withLock { $0.running.isEmpty } }
    }

    /// Ends a hold that was not a run (cleanup's).
    func releaseClaim(_ claim: SyncClaim) {
        release(claim)
    }

    /// Ends `claim`'s hold on its dataset and wakes those waiting for no run to be going.
    private func release(_ claim: SyncClaim, update: (inout State) -> Void = { _ in }) {
        let idle = state.withLock { state -> Bool in
            if state.running[claim.dataset] === claim { state.running[claim.dataset] = nil }
            update(&state)
            return state.running.isEmpty
        }
        if idle { idleWaiters.resumeAll() }
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
                state.prepared && !state.schedulingPaused && state.running[dataset.name] == nil
                    && (state.nextRun[dataset.name].map { $0 <= now } ?? false)
            }
            guard due else { return nil }
            return try? claim(dataset.name, full: false, trigger: .schedule)
        }
    }

    /// Runs a claimed sync to its end and records the outcome; never throws (the result says how it went).
    public func execute(_ claim: SyncClaim) async -> SyncRunResult {
        let started = Date()
        let (result, _) = await reporter.report(
            .sync, name: Self.jobName(database: database.id, dataset: claim.dataset), database: database.id,
            runID: UUID(uuidString: claim.runID) ?? UUID(), inputs: lineageInputs(of: claim.dataset),
            outputs: lineageOutputs(of: claim.dataset, written: []),
            outcome: { (result: SyncRunResult, written: [SyncRun.WrittenTable]) in
                result.status == .succeeded
                    ? .completed(.init(outputs: lineageOutputs(of: claim.dataset, written: written), rows: result.rowsRead))
                    : .failed(result.error ?? result.status.rawValue, cancelled: result.status == .cancelled, .init(rows: result.rowsRead))
            }) {
            await executeClaimed(claim, started: started)
        }
        return result
    }

    private func executeClaimed(_ claim: SyncClaim, started: Date) async -> (SyncRunResult, [SyncRun.WrittenTable]) {
        let result: SyncRunResult
        var written: [SyncRun.WrittenTable] = []
        do {
            // A run reads what earlier runs recorded: it never starts before that is loaded.
            try await ensurePrepared(interrupter: claim.interrupter)
        } catch {
            // Nothing is recorded: without the recorded state, writing it would overwrite it.
            let message = redactor.redact(Self.message(for: error))
            let status: SyncRunResult.Status = claim.interrupter.reason == nil ? .failed : .cancelled
            result = SyncRunResult(runID: claim.runID, dataset: claim.dataset, status: status, syncType: "full", rows: nil, rowsRead: 0,
                                   truncated: false, durationMs: Int(Date().timeIntervalSince(started) * 1000),
                                   error: "the sync state could not be loaded: \(message)")
            return (finish(claim, result), [])
        }
        do {
            try await slots.acquire(interrupter: claim.interrupter)
            defer { slots.release() }
            (result, written) = try await perform(claim, started: started)
        } catch {
            result = await recordFailure(of: claim, error: error, started: started)
        }
        return (finish(claim, result), written)
    }

    /// Ends `claim` with `result`: the dataset is free again, its next run planned, waiters told.
    private func finish(_ claim: SyncClaim, _ result: SyncRunResult) -> SyncRunResult {
        release(claim) { state in
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

    /// Ends a claim that will never run (the scheduler has stopped): it is cancelled, and the
    /// dataset is free again.
    func abandon(_ claim: SyncClaim) {
        let result = SyncRunResult(runID: claim.runID, dataset: claim.dataset, status: .cancelled, syncType: claim.full ? "full" : "incremental",
                                   rows: nil, rowsRead: 0, truncated: false, durationMs: 0, error: "cancelled: the server is shutting down")
        _ = finish(claim, result)
    }

    /// Claims and executes in one go (the CLI, `?wait=true`).
    public func run(_ dataset: String, full: Bool, trigger: SyncClaim.Trigger) async throws -> SyncRunResult {
        await execute(try claim(dataset, full: full, trigger: trigger))
    }

    private func perform(_ claim: SyncClaim, started: Date) async throws -> (SyncRunResult, [SyncRun.WrittenTable]) {
        guard let dataset = settings.dataset(claim.dataset), let source = settings.source(dataset.source) else {
            throw SyncError.unknownDataset(claim.dataset)
        }
        let (sources, setupError) = state.withLock { ($0.sources, $0.sourceSetupError) }
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
            progress: { claim.report(rows: $0) }, phase: { claim.enter($0) })
        let outcome = try await run.execute()
        state.withLock { $0.persisted[dataset.name] = outcome.state }
        let result = SyncRunResult(
            runID: claim.runID, dataset: dataset.name, status: .succeeded, syncType: outcome.state.syncType ?? "full",
            rows: outcome.state.rows, rowsRead: outcome.rowsRead, truncated: outcome.state.truncated,
            durationMs: outcome.state.durationMs ?? 0, error: nil)
        return (result, outcome.tables)
    }

    // MARK: - Lineage

    /// The lineage job of a dataset's runs.
    static func jobName(database: String, dataset: String) -> String {
        "\(database).sync.\(dataset)"
    }

    /// What a dataset's runs read: the source's table (`schema.table`), or each of its queries
    /// (`query:NAME_dataset`) under the source's namespace without credentials.
    func lineageInputs(of name: String) -> [LineageService.Dataset] {
        guard let dataset = settings.dataset(name), let source = settings.source(dataset.source) else { return [] }
        let namespace = JobReporter.sourceNamespace(source)
        switch dataset.shape {
        case .table(let table):
            let schema: String? = switch source.kind {
            case .postgres: "public"
            case .sqlite: "main"
            case .mysql: nil
            }
            let qualified = table.contains(".") ? table : schema.map { "\($0).\(table)" } ?? table
            return [LineageService.Dataset(namespace: namespace, name: qualified)]
        case .split:
            return SyncRun.subTableNames(of: dataset).map { LineageService.Dataset(namespace: namespace, name: "query:\($0)") }
        }
    }

    /// What a dataset's runs write: its tables in this database, with their columns and the rows
    /// the run wrote once it has.
    func lineageOutputs(of name: String, written: [SyncRun.WrittenTable]) -> [LineageService.Dataset] {
        guard let dataset = settings.dataset(name) else { return [] }
        return SyncRun.subTableNames(of: dataset).map { table in
            var output = reporter.table(table, in: database.id)
            if let table = written.first(where: { $0.name == table }) {
                output.schema = table.columns.map { ($0.name, $0.type.sqlName) }
                output.rowCount = table.rowsWritten
            }
            return output
        }
    }

    private func recordFailure(of claim: SyncClaim, error: any Error, started: Date) async -> SyncRunResult {
        // A database out of service (being reopened, restored, failed) is not the run's failure:
        // counted, it would force full rebuilds once the database is back.
        let cancelled = claim.interrupter.reason == .cancelled || error is CancellationError || error is DatabaseUnavailable
        let message = redactor.redact(Self.message(for: error))
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

    /// Clears a dataset's watermarks: its next run is a full rebuild. The dataset is claimed while
    /// this happens, so no run can start meanwhile and overwrite the reset (and a running one makes
    /// this fail with ``SyncError/alreadyRunning``).
    public func resetWatermark(_ dataset: String) async throws {
        let claim = try claim(dataset, full: true, trigger: .resetWatermark)
        defer { release(claim) }
        try await ensurePrepared(interrupter: claim.interrupter)
        try await Failpoints.hit("sync.reset-watermark", scope: settings.path)
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
                    watermarks: persisted.watermarks.mapValues(\.value), refreshIntervalMinutes: interval(of: dataset).map { $0 / 60 },
                    incrementalColumn: dataset.incrementalColumn, merge: merge, truncated: persisted.truncated,
                    lastError: persisted.lastError, durationMs: persisted.durationMs, nextRun: state.nextRun[dataset.name],
                    reconciled: persisted.reconciled, runID: running?.runID, lastRunID: persisted.lastRunID,
                    consecutiveFailures: persisted.consecutiveFailures, progressRows: running?.progressRows)
                return (dataset.name, status)
            })
        }
    }

    /// Cancels the runs loading from their source (so holding the write path) that moved no row
    /// over `patience` (stuck, say, behind a lock at the source), looking again every `patience`
    /// until the caller's task is cancelled. For a backup waiting for the write path: a run that
    /// moves rows, or is applying what it loaded, is waited for; one that moves none is cancelled
    /// (it rolls back and runs again later).
    func cancelStalledRuns(patience: Duration) async {
        var seen: [ObjectIdentifier: Int] = [:]
        while !Task.isCancelled {
            let loading = state.withLock { Array($0.running.values) }.filter { $0.phase == .loading }
            var next: [ObjectIdentifier: Int] = [:]
            for claim in loading {
                let id = ObjectIdentifier(claim)
                let rows = claim.progressRows
                if let before = seen[id], before == rows {
                    logger.warning("cancelling a sync that moved no row for \(patience) while a backup waits", metadata: [
                        "duckling.dataset": .string(claim.dataset), "duckling.run_id": .string(claim.runID),
                    ])
                    claim.cancel()
                }
                next[id] = rows
            }
            seen = next
            guard (try? await Task.sleep(for: patience)) != nil else { return }
        }
    }

    /// The running claims, to cancel them on shutdown.
    public func cancelAll() {
        for claim in state.withLock({ Array($0.running.values) }) { claim.cancel() }
    }

    // MARK: - Schedule

    /// Seconds between scheduled runs of `dataset`, or nil when it is not scheduled.
    private func interval(of dataset: DatasetSettings) -> TimeInterval? {
        let seconds = dataset.refreshIntervalSeconds ?? settings.automation.syncIntervalSeconds
        return seconds > 0 ? TimeInterval(seconds) : nil
    }

    /// After a success, one interval later; after a failure, a backoff of 30 s doubling per failure,
    /// at most the interval. Nothing when the dataset is not scheduled.
    private func nextRun(of dataset: DatasetSettings, after result: SyncRunResult, failures: Int) -> Date? {
        let mode = dataset.syncMode ?? engine.syncMode
        guard mode == .startup, let interval = interval(of: dataset) else { return nil }
        guard result.status == .failed else { return Date().addingTimeInterval(interval) }
        let backoff = 30 * pow(2, Double(max(0, failures - 1)))
        return Date().addingTimeInterval(min(backoff, interval))
    }
}
