/// What Duckling does on its own (the seed's environment settings and their defaults).
public struct AutomationSettings: Sendable, Equatable {
    public var autoStartSync = true
    public var syncIntervalMinutes = 15
    public var enableIncrementalSync = true
    public var autoBackup = true
    public var backupIntervalHours = 24
    public var backupRetentionDays = 7
    public var autoCleanup = true
    public var cleanupIntervalHours = 24
    /// Sync log retention (`RETENTION_DAYS`).
    public var retentionDays = 90
    public var autoRestart = true
    public var maxRestartAttempts = 3
    public var healthCheckIntervalSeconds = 60

    public init() {}
}
