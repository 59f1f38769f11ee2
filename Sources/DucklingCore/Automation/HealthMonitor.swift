public import Foundation
import DuckDBKit
import Logging
import ObjectStorage
import Synchronization

/// The health of one database (DESIGN.md §8), checked by its automation every
/// `health_check_interval_seconds`: `SELECT 1` under a time limit on a pooled connection, the file
/// and WAL size, free disk in the data directory, each source reached, and the automation's tasks.
///
/// Recovery is real (`AUTO_RESTART`): a database whose instance fails (DuckDB invalidates it after
/// a fatal error such as a checkpoint on a full disk) is drained, closed and reopened from its
/// file. After `MAX_RESTART_ATTEMPTS` consecutive failed recoveries it is `failed`: queries get
/// 503 `database_failed` and `/ready` 503, until a check (or `POST /automation/start`) recovers it.
public final class HealthMonitor: Sendable {
    public enum State: String, Sendable, Codable {
        case healthy, degraded, unhealthy, failed
    }

    public struct Report: Sendable, Codable {
        public var state: State
        public var checkedAt: Date
        public var problems: [String]
        public var queryMilliseconds: Int?
        public var fileBytes: Int64?
        public var walBytes: Int64?
        public var freeDiskBytes: Int64?
        public var freeDiskPercent: Double?
        public var sources: [SourceProbe]
        public var recoveryAttempts: Int
        public var lastRecovery: String?

        init(state: State, checkedAt: Date, problems: [String], queryMilliseconds: Int? = nil, fileBytes: Int64? = nil, walBytes: Int64? = nil,
             freeDiskBytes: Int64? = nil, freeDiskPercent: Double? = nil, sources: [SourceProbe], recoveryAttempts: Int, lastRecovery: String? = nil) {
            self.state = state
            self.checkedAt = checkedAt
            self.problems = problems
            self.queryMilliseconds = queryMilliseconds
            self.fileBytes = fileBytes
            self.walBytes = walBytes
            self.freeDiskBytes = freeDiskBytes
            self.freeDiskPercent = freeDiskPercent
            self.sources = sources
            self.recoveryAttempts = recoveryAttempts
            self.lastRecovery = lastRecovery
        }

        enum CodingKeys: String, CodingKey {
            case state, problems, sources
            case checkedAt = "checked_at"
            case queryMilliseconds = "query_ms"
            case fileBytes = "file_bytes"
            case walBytes = "wal_bytes"
            case freeDiskBytes = "free_disk_bytes"
            case freeDiskPercent = "free_disk_percent"
            case recoveryAttempts = "recovery_attempts"
            case lastRecovery = "last_recovery"
        }
    }

    let database: ManagedDatabase
    let sync: SyncEngine?
    let settings: AutomationSettings
    let reporter: JobReporter
    let logger: Logger
    private let state = Mutex<(report: Report?, failedRecoveries: Int, lastRecovery: String?)>((nil, 0, nil))

    init(database: ManagedDatabase, sync: SyncEngine?, settings: AutomationSettings, reporter: JobReporter = .silent, logger: Logger) {
        self.database = database
        self.sync = sync
        self.settings = settings
        self.reporter = reporter
        self.logger = logger
    }

    /// The last report, or nil before the first check.
    public var lastReport: Report? { state.withLock { $0.report } }

    /// The state as of the last check; a database marked failed is failed whatever it said.
    public var currentState: State {
        if database.failure != nil { return .failed }
        return lastReport?.state ?? .healthy
    }

    /// Checks the database, recovering it when it fails and `AUTO_RESTART` allows; `taskProblems`
    /// are what the automation found wrong with its own tasks (they make the state `degraded`).
    @discardableResult
    func check(taskProblems: [String], recover: Bool) async -> Report {
        // One check at a time: two recoveries at once would open the file twice.
        do {
            try await turns.acquire()
        } catch {
            // Cancelled (shutdown) while another check ran: that one's report stands.
            return lastReport ?? Report(state: currentState, checkedAt: Date(), problems: ["the check was cancelled"], sources: [],
                                        recoveryAttempts: 0)
        }
        defer { turns.release() }
        return await checkAlone(taskProblems: taskProblems, recover: recover)
    }

    /// One check at a time (scheduled, and `POST /automation/start`'s).
    private let turns = AsyncSemaphore(permits: 1)

    private func checkAlone(taskProblems: [String], recover: Bool) async -> Report {
        var problems: [String] = []
        var engineProblem = await probeDatabase()
        if engineProblem == nil, let fileProblem = await BlockingIO.run({ [database] in database.fileProblem }) {
            engineProblem = EngineProblem(message: fileProblem, recoverable: true)
        }

        var recovered: String?
        if let problem = engineProblem?.message, engineProblem?.recoverable == true, recover {
            recovered = await attemptRecovery(after: problem)
            if recovered != nil { engineProblem = await probeDatabase() }
        }
        if let engineProblem { problems.append(engineProblem.message) }

        let directory = URL(fileURLWithPath: (database.settings.path as NSString).deletingLastPathComponent)
        // stat and statvfs can block (a network file system): not on the cooperative pool.
        let (storage, free, total) = await BlockingIO.run { [database] in
            (database.storageBytes, DiskSpace.available(at: directory), DiskSpace.total(at: directory))
        }
        let freePercent = free.flatMap { free in total.map { $0 > 0 ? Double(free) * 100 / Double($0) : 100 } }
        if let freePercent, freePercent < Double(settings.minimumFreeDiskPercent) {
            problems.append(String(format: "free disk in %@ is %.1f%%, below %d%%", directory.path, freePercent, settings.minimumFreeDiskPercent))
        }
        let sources = await sync?.probeSources(timeoutSeconds: settings.healthCheckTimeoutSeconds) ?? []
        for probe in sources where !probe.reachable {
            problems.append("source '\(probe.source)' is unreachable: \(probe.error ?? "no answer")")
        }
        problems += taskProblems

        let (report, previous) = state.withLock { state -> (Report, State?) in
            let previous = state.report?.state
            if engineProblem == nil {
                state.failedRecoveries = 0
            }
            if let recovered { state.lastRecovery = recovered }
            let failed = database.failure != nil
            let stateNow: State = failed ? .failed : engineProblem != nil ? .unhealthy : problems.isEmpty ? .healthy : .degraded
            let report = Report(
                state: stateNow, checkedAt: Date(), problems: problems, queryMilliseconds: engineProblem == nil ? lastQueryMilliseconds : nil,
                fileBytes: storage.file, walBytes: storage.wal, freeDiskBytes: free, freeDiskPercent: freePercent, sources: sources,
                recoveryAttempts: state.failedRecoveries, lastRecovery: state.lastRecovery)
            state.report = report
            return (report, previous)
        }
        // A change, and the first state when it is not healthy (a start that finds all well is no news).
        if report.state != previous, previous != nil || report.state != .healthy {
            reporter.healthChanged(database: database.id, from: previous?.rawValue, to: report.state.rawValue, problems: problems)
        }
        if report.state != .healthy {
            logger.warning("health check", metadata: ["duckling.state": .string(report.state.rawValue), "duckling.problems": .string(problems.joined(separator: "; "))])
        }
        return report
    }

    /// Brings a failed database back at once (`POST /automation/start`): one recovery attempt,
    /// whatever the count so far.
    func revive() async {
        state.withLock { $0.failedRecoveries = 0 }
        await check(taskProblems: [], recover: true)
    }

    // MARK: - Probes

    private struct EngineProblem {
        let message: String
        /// A failure reopening the file may cure (not a restore in progress).
        let recoverable: Bool
    }

    private let queryTime = Mutex<Int?>(nil)
    private var lastQueryMilliseconds: Int? { queryTime.withLock { $0 } }

    /// `SELECT 1` on a pooled connection under the check's time limit; nil when it answered.
    private func probeDatabase() async -> EngineProblem? {
        if let failure = database.failure { return EngineProblem(message: failure, recoverable: true) }
        let started = ContinuousClock.now
        let interrupter = Interrupter()
        interrupter.interrupt(at: started + .seconds(settings.healthCheckTimeoutSeconds))
        defer { interrupter.cancelDeadline() }
        do {
            let lease = try await database.leaseReader(queueLimit: nil, interrupter: interrupter)
            defer { lease.release() }
            _ = try await lease.connection.run(interrupter: interrupter) { try $0.query("SELECT 1").scalar() }
            queryTime.withLock { $0 = Int((ContinuousClock.now - started).milliseconds) }
            return nil
        } catch let error as DatabaseUnavailable where error.code != "database_failed" {
            // Being restored or compacted is not a failure of the engine; a reopen that failed is.
            return EngineProblem(message: error.description, recoverable: database.reopenFailedBefore)
        } catch {
            if interrupter.reason == .timeout {
                return EngineProblem(message: "SELECT 1 did not answer within \(settings.healthCheckTimeoutSeconds) s", recoverable: false)
            }
            // A check stopped by shutdown says nothing about the engine.
            if error is CancellationError || interrupter.reason == .cancelled || Task.isCancelled { return nil }
            return EngineProblem(message: "SELECT 1 failed: \(error)", recoverable: true)
        }
    }

    /// One recovery: reopen the file. Returns what was done when it worked; counts a failure and,
    /// at `MAX_RESTART_ATTEMPTS`, marks the database failed.
    private func attemptRecovery(after problem: String) async -> String? {
        logger.warning("recovering the database: reopening it from its file", metadata: ["duckling.problem": .string(problem)])
        do {
            // Refused at once (a missing file, a restore under way) without pausing anything.
            try database.checkReopenable()
            // Syncs are paused (as for a restore), so none holds the write path the drain waits for.
            if let sync {
                try await sync.withSyncPaused(reason: "the database is being reopened") { try await database.reopenFromFile() }
            } else {
                try await database.reopenFromFile()
            }
            database.setFailed(nil)
            logger.notice("the database was reopened and serves again")
            return "reopened at \(ISO8601DateFormatter().string(from: Date())) after: \(problem)"
        } catch {
            let attempts = state.withLock { state -> Int in
                state.failedRecoveries += 1
                return state.failedRecoveries
            }
            logger.error("recovery failed", metadata: ["duckling.attempt": .stringConvertible(attempts), "duckling.error": .string(String(describing: error))])
            if attempts >= settings.maxRestartAttempts && database.failure == nil {
                database.setFailed("recovery failed \(attempts) times; last problem: \(problem); last error: \(error)")
                logger.critical("the database is failed: queries are refused until it recovers", metadata: ["duckling.problem": .string(problem)])
            }
            return nil
        }
    }
}
