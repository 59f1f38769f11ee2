/// What Duckling does on its own (the seed's environment settings and their defaults). Intervals
/// are kept in seconds: the file accepts durations (`90s`, `15m`, `6h`) as well as numbers in the
/// unit of the key's name; the seed's environment names keep their units.
public struct AutomationSettings: Sendable, Equatable {
    public var autoStartSync = true
    /// Between scheduled syncs of a dataset without its own `refresh_interval_minutes`; 0 disables.
    public var syncIntervalSeconds = 15 * 60
    public var enableIncrementalSync = true
    public var autoBackup = true
    public var backupIntervalSeconds = 24 * 3600
    public var backupRetentionDays = 7
    public var autoCleanup = true
    public var cleanupIntervalSeconds = 24 * 3600
    /// Sync log and task history retention (`RETENTION_DAYS`).
    public var retentionDays = 90
    public var autoRestart = true
    public var maxRestartAttempts = 3
    public var healthCheckIntervalSeconds = 60
    /// How long each probe of a health check (`SELECT 1`, a source) may take.
    public var healthCheckTimeoutSeconds = 5
    /// Free disk in the data directory below this share of the disk makes health `degraded`.
    public var minimumFreeDiskPercent = 5
    /// Cleanup rewrites the file when DuckDB reports at least this share of its blocks free.
    public var reclaimThresholdPercent = 30
    /// ... and at least this many bytes are free (a small file is not worth rewriting).
    public var reclaimMinimumBytes: Int64 = 16 << 20
    /// How long a backup waits for running syncs to let go of the write path before it cancels
    /// them (they roll back and run again later), so a sync stuck at its source never holds it up.
    public var backupSyncPatienceSeconds = 10

    public init() {}

    /// `syncIntervalSeconds` in minutes, as the seed's status reports it.
    public var syncIntervalMinutes: Double { Double(syncIntervalSeconds) / 60 }
}
