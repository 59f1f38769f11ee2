public import Foundation
public import Logging
public import ServiceLifecycle
import DuckDBKit
import Synchronization

/// The automation of one database (DESIGN.md §8): scheduled syncs (run by the ``SyncScheduler``),
/// local and S3 backups, cleanup and health checks, each at its interval aligned to 00:00 UTC.
/// The last run of each task is kept in `_duckling`, so a restart neither repeats a task that just
/// ran nor skips one that is overdue. Every run is a task of its own: one that fails or hangs
/// holds up no other, and one still running when its next slot comes is not started twice.
public final class AutomationService: Service, Sendable {
    public let database: ManagedDatabase
    public let health: HealthMonitor
    let sync: SyncEngine
    let backups: BackupService?
    let engine: EngineSettings
    let settings: AutomationSettings
    let logger: Logger
    private let state: Mutex<State>
    private let wake = EventWaiters()
    /// Backups, S3 backups and cleanup of the database take turns.
    private let backupTurns = AsyncSemaphore(permits: 1)

    private struct State {
        var running: Bool
        var loaded = false
        var records: [AutomationTaskKind: TaskStore.Record] = [:]
        var active: [AutomationTaskKind: Active] = [:]
        /// Failures since the process started, by task (the Prometheus counter).
        var failuresTotal: [AutomationTaskKind: Int] = [:]
        var lastHealthCheck: Date?
        var stopping = false
        /// When the records were loaded: a task never run waits for the first slot after it.
        var anchor = Date()
        /// The first health check comes one interval after the service was made.
        let created = Date()
    }

    private struct Active {
        let started: Date
        let trigger: String
        /// Cancels the run's task (shutdown, or a run stuck far past its interval).
        let cancel: @Sendable () -> Void
    }

    /// `lake` is maintained as part of this database's cleanup (the server passes it to `default`'s automation).
    /// The lake, when this database's cleanup maintains it.
    private let lake: Lake?
    /// Where cleanup's lineage and status go (the sync engine's).
    private let reporter: JobReporter

    public init(database: ManagedDatabase, sync: SyncEngine, backups: BackupService?, engine: EngineSettings, lake: Lake? = nil, logger: Logger) {
        self.lake = lake
        self.reporter = sync.reporter
        self.database = database
        self.sync = sync
        self.backups = backups
        self.engine = engine
        self.settings = database.settings.automation
        var logger = logger
        logger[metadataKey: "duckling.database"] = .string(database.id)
        self.logger = logger
        self.health = HealthMonitor(database: database, sync: sync, settings: database.settings.automation, reporter: sync.reporter, logger: logger)
        self.state = Mutex(State(running: database.settings.automation.autoStartSync))
    }

    public var isRunning: Bool { state.withLock { $0.running } }

    // MARK: - Start and stop

    /// Resumes every scheduled task (`POST /automation/start`); a failed database gets one
    /// recovery attempt at once.
    public func start() async {
        state.withLock { $0.running = true }
        sync.setSchedulingPaused(false)
        logger.notice("automation started")
        if database.failure != nil || health.currentState == .unhealthy { await health.revive() }
        wake.resumeAll()
    }

    /// Pauses every scheduled task (`POST /automation/stop`); requests still work, and runs
    /// already going finish.
    public func stop() {
        state.withLock { $0.running = false }
        sync.setSchedulingPaused(true)
        logger.notice("automation stopped")
    }

    // MARK: - The schedule

    /// The interval of `kind`, or nil when it is turned off.
    func interval(of kind: AutomationTaskKind) -> Int? {
        switch kind {
        case .sync:
            let intervals = database.settings.datasets.map { $0.refreshIntervalSeconds ?? settings.syncIntervalSeconds }.filter { $0 > 0 }
            return intervals.min()
        case .backup:
            return settings.autoBackup && backups != nil ? settings.backupIntervalSeconds : nil
        case .s3Backup:
            return settings.autoBackup && backups?.hasS3 == true ? database.settings.backup.s3?.intervalSeconds : nil
        case .cleanup:
            return settings.autoCleanup ? settings.cleanupIntervalSeconds : nil
        case .health:
            return settings.healthCheckIntervalSeconds
        }
    }

    /// When `kind` next runs (nil when it is off or its record is not loaded yet).
    private func nextRun(of kind: AutomationTaskKind, in state: State, now: Date) -> Date? {
        guard let interval = interval(of: kind), kind != .sync else { return nil }
        if kind == .health {
            return (state.lastHealthCheck ?? state.created).addingTimeInterval(TimeInterval(interval))
        }
        guard state.loaded else { return nil }
        let record = state.records[kind] ?? TaskStore.Record()
        return TaskSchedule(interval: TimeInterval(interval))
            .nextRun(lastSuccess: record.lastSuccess, lastFinished: record.lastFinished, failures: record.consecutiveFailures, anchor: state.anchor)
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    if !state.withLock({ $0.loaded }) { await loadRecords() }
                    for kind in dueTasks(at: Date()) {
                        group.addTask { _ = try? await self.perform(kind, trigger: "schedule") }
                    }
                    // A second at most between looks; start and stop wake it at once.
                    _ = await wake.wait(within: .seconds(1), until: { false })
                }
                cancelRunning()
            }
        } onGracefulShutdown: { [self] in
            state.withLock { $0.stopping = true }
            cancelRunning()
            wake.resumeAll()
        }
    }

    /// The tasks due at `now`, marked running: none while automation is stopped, and never one
    /// that is still running.
    private func dueTasks(at now: Date) -> [AutomationTaskKind] {
        state.withLock { state in
            guard state.running, !state.stopping else { return [] }
            var due: [AutomationTaskKind] = []
            for kind in AutomationTaskKind.allCases where state.active[kind] == nil {
                guard let next = nextRun(of: kind, in: state, now: now), next <= now else { continue }
                due.append(kind)
            }
            return due
        }
    }

    private func cancelRunning() {
        for active in state.withLock({ Array($0.active.values) }) { active.cancel() }
    }

    /// Reads the records of earlier runs now (the CLI); throws when they cannot be read.
    public func loadRecordsNow() async throws {
        let records = try await database.withSharedWriter { writer in
            try await writer.run { connection in
                try TaskStore.createTables(on: connection)
                return try TaskStore.load(on: connection)
            }
        }
        state.withLock {
            $0.records = records
            $0.loaded = true
            $0.anchor = Date()
        }
    }

    private func loadRecords() async {
        do {
            try await loadRecordsNow()
        } catch {
            logger.debug("the automation's records could not be read yet", metadata: ["duckling.error": .string(String(describing: error))])
        }
    }

    // MARK: - Running a task

    /// What a run produced, for the history.
    struct Produced: Sendable {
        var rows: Int?
        var bytes: Int64?
        var error: String?
        var cleanup: CleanupReport?
    }

    /// Runs `kind` now as the schedule does, records it and returns what it produced.
    @discardableResult
    func perform(_ kind: AutomationTaskKind, trigger: String) async throws -> Produced {
        try await run(kind, trigger: trigger) {
            let produced = try await self.body(of: kind)
            return (produced, produced)
        }
    }

    /// Runs `work` as the one run of `kind` (refused with ``AutomationError/alreadyRunning`` while
    /// another is going), in a task of its own that health and shutdown can cancel, and records
    /// it: the task's record, and a row of the history (health checks are not kept).
    private func run<T: Sendable>(
        _ kind: AutomationTaskKind, trigger: String, _ work: @escaping @Sendable () async throws -> (T, Produced)
    ) async throws -> T {
        let started = Date()
        // The slot is taken before anything runs: a refused run does none of its work.
        let cancellation = Cancellation()
        try state.withLock { state in
            if let running = state.active[kind] {
                throw AutomationError.alreadyRunning(task: kind.rawValue, since: running.started)
            }
            state.active[kind] = Active(started: started, trigger: trigger, cancel: cancellation.cancel)
        }
        let task = Task { () -> Result<(T, Produced), any Error> in
            do {
                // Backups, S3 backups and cleanup take turns: each would refuse or disturb the
                // others (a rewrite would lose a backup's record written during its copy).
                let turns = kind == .health ? nil : backupTurns
                try await turns?.acquire()
                defer { turns?.release() }
                return .success(try await work())
            } catch {
                return .failure(error)
            }
        }
        cancellation.attach { task.cancel() }
        let result = await task.value
        let finished = Date()
        let produced: Produced
        let outcome: String
        let error: String?
        switch result {
        case .success(let (_, value)):
            produced = value
            outcome = value.error == nil ? "succeeded" : "failed"
            error = value.error
        case .failure(let failure):
            produced = Produced()
            outcome = failure is CancellationError ? "cancelled" : "failed"
            error = String(describing: failure)
        }
        let record = state.withLock { state -> TaskStore.Record in
            state.active[kind] = nil
            var record = state.records[kind] ?? TaskStore.Record()
            record.lastStarted = started
            record.lastFinished = finished
            record.lastOutcome = outcome
            record.lastError = error
            record.durationMs = Int(finished.timeIntervalSince(started) * 1000)
            if outcome == "succeeded" {
                record.lastSuccess = started
                record.consecutiveFailures = 0
            } else if outcome == "failed" {
                record.consecutiveFailures += 1
                state.failuresTotal[kind, default: 0] += 1
            }
            state.records[kind] = record
            if kind == .health { state.lastHealthCheck = finished }
            return record
        }
        if kind != .health {
            let run = TaskStore.Run(runID: UUID().uuidString.lowercased(), task: kind, trigger: trigger, startedAt: started, finishedAt: finished,
                                    outcome: outcome, error: error, rows: produced.rows, bytes: produced.bytes)
            await save(kind, record, run: run)
        }
        logger.log(level: outcome == "succeeded" ? .info : .warning, "automation task finished", metadata: [
            "duckling.task": .string(kind.rawValue), "duckling.trigger": .string(trigger), "duckling.outcome": .string(outcome),
            "duckling.duration_ms": .stringConvertible(record.durationMs ?? 0), "duckling.error": .string(error ?? ""),
        ])
        return try result.get().0
    }

    private func save(_ kind: AutomationTaskKind, _ record: TaskStore.Record, run: TaskStore.Run) async {
        do {
            try await database.withSharedWriter { writer in
                try await writer.run { connection in
                    try TaskStore.createTables(on: connection)
                    try TaskStore.save(kind, record, run: run, on: connection)
                }
            }
        } catch {
            logger.warning("could not record an automation task", metadata: ["duckling.task": .string(kind.rawValue), "duckling.error": .string(String(describing: error))])
        }
    }

    /// The work of one scheduled task.
    private func body(of kind: AutomationTaskKind) async throws -> Produced {
        switch kind {
        case .sync:
            // Scheduled syncs are claimed by the sync scheduler.
            throw AutomationError.notATask(kind.rawValue)
        case .backup:
            guard let backups else { throw AutomationError.notConfigured("backups") }
            let manifest = try await backups.createLocal()
            return Produced(rows: manifest.tables.reduce(0) { $0 + Int($1.rows) }, bytes: manifest.size)
        case .s3Backup:
            guard let backups, backups.hasS3 else { throw AutomationError.notConfigured("S3 backups") }
            _ = try await backups.uploadToS3()
            return Produced()
        case .cleanup:
            let whole = reporter.database(database.id)
            return await reporter.report(.cleanup, name: "\(database.id).cleanup", database: database.id, inputs: [whole], outputs: [whole],
                                         outcome: { (produced: Produced) in
                var after = whole
                after.byteCount = produced.bytes
                let ending = JobReporter.Ending(outputs: [after], bytes: produced.bytes)
                return produced.error.map { .failed($0, cancelled: Task.isCancelled, ending) } ?? .completed(ending)
            }) {
                var report = await Cleanup(database: database, sync: sync, backups: backups, engine: engine, settings: settings, logger: logger).run()
                if let lake, lake.hasCatalog {
                    do {
                        report.lakeMaintenance = try await lake.maintain()
                    } catch {
                        report.warnings.append("lake maintenance: \(error)")
                    }
                }
                return Produced(bytes: report.fileBytesAfter, error: report.warnings.isEmpty ? nil : report.warnings.joined(separator: "; "), cleanup: report)
            }
        case .health:
            let report = await health.check(taskProblems: taskProblems(now: Date()), recover: settings.autoRestart)
            return Produced(error: report.state == .healthy ? nil : report.problems.joined(separator: "; "))
        }
    }

    /// Runs a cleanup as the API asks for it, recorded like a scheduled one.
    public func cleanupNow() async throws -> CleanupReport {
        try await perform(.cleanup, trigger: "api").cleanup ?? CleanupReport()
    }

    /// Runs `body` (a backup the API asked for) as a run of `kind`: recorded like a scheduled one,
    /// and never at the same time as one.
    public func track<T: Sendable>(
        _ kind: AutomationTaskKind, trigger: String, bytes: @escaping @Sendable (T) -> Int64?, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await run(kind, trigger: trigger) {
            let value = try await body()
            return (value, Produced(bytes: bytes(value)))
        }
    }

    // MARK: - What the health check sees of the tasks

    /// Tasks that fail or overrun. One running for more than twice its interval (at least ten
    /// minutes) is stuck: it is cancelled, so its next slot starts it afresh.
    private func taskProblems(now: Date) -> [String] {
        let (records, active) = state.withLock { ($0.records, $0.active) }
        var problems: [String] = []
        for kind in AutomationTaskKind.allCases where kind != .health {
            if let record = records[kind], record.consecutiveFailures > 0, interval(of: kind) != nil {
                problems.append("task \(kind.rawValue) failed \(record.consecutiveFailures) time(s): \(record.lastError ?? "unknown error")")
            }
            if let running = active[kind], let interval = interval(of: kind) {
                let seconds = now.timeIntervalSince(running.started)
                if seconds > max(2 * Double(interval), 600) {
                    problems.append("task \(kind.rawValue) has run for \(Int(seconds)) s; restarting it")
                    running.cancel()
                }
            }
        }
        for (dataset, status) in sync.status() where status.state == .error && status.consecutiveFailures > 0 {
            problems.append("sync of \(dataset) failing: \(status.lastError ?? "unknown error")")
        }
        return problems
    }

    // MARK: - Status

    public func status(now: Date = Date()) -> AutomationStatus {
        let snapshot = state.withLock { state in
            (state, AutomationTaskKind.allCases.map { ($0, nextRun(of: $0, in: state, now: now)) })
        }
        let (current, nexts) = snapshot
        let next = Dictionary(uniqueKeysWithValues: nexts.map { ($0.0, $0.1) })
        let datasets = sync.status()
        var tasks: [String: TaskStatus] = [:]
        for kind in AutomationTaskKind.allCases {
            let record = current.records[kind] ?? TaskStore.Record()
            let active = current.active[kind]
            let enabled = interval(of: kind) != nil
            var status = TaskStatus(
                state: active != nil ? .running : !enabled ? .disabled : current.running ? .scheduled : .paused,
                intervalSeconds: interval(of: kind), lastStarted: record.lastStarted, lastFinished: record.lastFinished,
                lastSuccess: record.lastSuccess, lastOutcome: record.lastOutcome, lastError: record.lastError, durationMs: record.durationMs,
                nextRun: current.running && enabled ? next[kind] ?? nil : nil, consecutiveFailures: record.consecutiveFailures,
                runningSeconds: active.map { Int(now.timeIntervalSince($0.started)) })
            if kind == .sync {
                let finished = datasets.values.compactMap { [$0.lastFull, $0.lastIncremental].compactMap { $0 }.max() }
                let failing = datasets.values.filter { $0.state == .error }
                status.state = datasets.values.contains { $0.state == .syncing } ? .running : status.state
                status.lastSuccess = finished.max()
                status.lastFinished = finished.max()
                status.lastOutcome = datasets.isEmpty ? nil : failing.isEmpty ? "succeeded" : "failed"
                status.lastError = failing.compactMap(\.lastError).first
                status.consecutiveFailures = failing.map(\.consecutiveFailures).max() ?? 0
                status.nextRun = current.running ? datasets.values.compactMap(\.nextRun).min() : nil
            }
            if kind == .health {
                status.lastFinished = current.lastHealthCheck
            }
            tasks[kind.rawValue] = status
        }
        return AutomationStatus(
            isRunning: current.running, syncInterval: settings.syncIntervalMinutes,
            lastSync: tasks["sync"]?.lastSuccess, nextSync: tasks["sync"]?.nextRun,
            backupEnabled: interval(of: .backup) != nil, lastBackup: tasks["backup"]?.lastSuccess, nextBackup: tasks["backup"]?.nextRun,
            s3BackupEnabled: interval(of: .s3Backup) != nil, lastS3Backup: tasks["s3_backup"]?.lastSuccess, nextS3Backup: tasks["s3_backup"]?.nextRun,
            cleanupEnabled: interval(of: .cleanup) != nil, lastCleanup: tasks["cleanup"]?.lastSuccess, nextCleanup: tasks["cleanup"]?.nextRun,
            healthMonitoring: current.running, healthCheckInterval: settings.healthCheckIntervalSeconds,
            architecture: Self.architecture, health: health.currentState, healthReport: health.lastReport, tasks: tasks)
    }

    /// How the copy is written, as the seed's status names it: staging tables swapped in per run.
    public static let architecture = "staged-swap"

    /// Failures since the process started, by task, and each task's last success (for metrics).
    public var taskCounters: [(task: AutomationTaskKind, failures: Int, lastSuccess: Date?, running: Bool)] {
        state.withLock { state in
            AutomationTaskKind.allCases.filter { $0 != .sync }.map {
                ($0, state.failuresTotal[$0, default: 0], state.records[$0]?.lastSuccess, state.active[$0] != nil)
            }
        }
    }
}

/// Cancels a run's task, once it exists; a cancel that comes first is applied when it is attached.
final class Cancellation: Sendable {
    private let state = Mutex<(cancelled: Bool, action: (@Sendable () -> Void)?)>((false, nil))

    func attach(_ action: @escaping @Sendable () -> Void) {
        let cancelled = state.withLock { state in
            state.action = action
            return state.cancelled
        }
        if cancelled { action() }
    }

    @Sendable func cancel() {
        let action = state.withLock { state in
            state.cancelled = true
            return state.action
        }
        action?()
    }
}

/// Why an automation request could not be carried out.
public enum AutomationError: Error, CustomStringConvertible, Sendable {
    case alreadyRunning(task: String, since: Date)
    case notConfigured(String)
    case notATask(String)

    public var description: String {
        switch self {
        case .alreadyRunning(let task, let since): "a \(task) is already running (since \(ISO8601DateFormatter().string(from: since)))"
        case .notConfigured(let what): "\(what) are not configured for this database"
        case .notATask(let task): "\(task) is run by its own scheduler"
        }
    }
}
