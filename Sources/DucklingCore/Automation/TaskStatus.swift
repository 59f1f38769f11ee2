public import Foundation

/// One automation task as `/automation/status` shows it.
public struct TaskStatus: Sendable, Codable {
    public enum State: String, Sendable, Codable {
        /// Waiting for its next run.
        case scheduled
        case running
        /// Automation is stopped for the database.
        case paused
        /// Turned off in the configuration.
        case disabled
    }

    public var state: State
    public var intervalSeconds: Int?
    public var lastStarted: Date?
    public var lastFinished: Date?
    public var lastSuccess: Date?
    public var lastOutcome: String?
    public var lastError: String?
    public var durationMs: Int?
    public var nextRun: Date?
    public var consecutiveFailures: Int
    public var runningSeconds: Int?

    enum CodingKeys: String, CodingKey {
        case state
        case intervalSeconds = "interval_seconds"
        case lastStarted = "last_started"
        case lastFinished = "last_finished"
        case lastSuccess = "last_success"
        case lastOutcome = "last_outcome"
        case lastError = "last_error"
        case durationMs = "duration_ms"
        case nextRun = "next_run"
        case consecutiveFailures = "consecutive_failures"
        case runningSeconds = "running_seconds"
    }
}

/// `GET /automation/status`: the seed's fields, then every task and the health.
public struct AutomationStatus: Sendable, Encodable {
    public var isRunning: Bool
    public var syncInterval: Double
    public var lastSync: Date?
    public var nextSync: Date?
    public var backupEnabled: Bool
    public var lastBackup: Date?
    public var nextBackup: Date?
    public var s3BackupEnabled: Bool
    public var lastS3Backup: Date?
    public var nextS3Backup: Date?
    public var cleanupEnabled: Bool
    public var lastCleanup: Date?
    public var nextCleanup: Date?
    public var healthMonitoring: Bool
    public var healthCheckInterval: Int
    public var architecture: String
    public var health: HealthMonitor.State
    public var healthReport: HealthMonitor.Report?
    public var tasks: [String: TaskStatus]

    enum CodingKeys: String, CodingKey {
        case isRunning, syncInterval, lastSync, nextSync, backupEnabled, lastBackup, nextBackup, s3BackupEnabled, lastS3Backup,
             nextS3Backup, cleanupEnabled, lastCleanup, nextCleanup, healthMonitoring, healthCheckInterval, architecture, health, tasks
        case healthReport = "health_report"
    }
}
