/// The automation keys, shared by the top-level `automation:` section and per-database overrides.
enum AutomationKeys {
    static let all = [
        "auto_start_sync", "sync_interval_minutes", "enable_incremental_sync", "auto_backup",
        "backup_interval_hours", "backup_retention_days", "auto_cleanup", "cleanup_interval_hours",
        "retention_days", "auto_restart", "max_restart_attempts", "health_check_interval_seconds",
        "health_check_timeout_seconds", "min_free_disk_percent", "reclaim_threshold_percent", "reclaim_min_free_mb", "backup_sync_patience_seconds",
    ]

    static let year = 366 * 86_400

    static func apply(_ table: ConfigReader.Table, reader: ConfigReader, to settings: inout AutomationSettings) {
        if let value = reader.bool(table, "auto_start_sync") { settings.autoStartSync = value }
        if let value = reader.interval(table, "sync_interval_minutes", unit: 60, in: 0...year) { settings.syncIntervalSeconds = value }
        if let value = reader.bool(table, "enable_incremental_sync") { settings.enableIncrementalSync = value }
        if let value = reader.bool(table, "auto_backup") { settings.autoBackup = value }
        if let value = reader.interval(table, "backup_interval_hours", unit: 3600, in: 1...year) { settings.backupIntervalSeconds = value }
        if let value = reader.int(table, "backup_retention_days", in: 0...36500) { settings.backupRetentionDays = value }
        if let value = reader.bool(table, "auto_cleanup") { settings.autoCleanup = value }
        if let value = reader.interval(table, "cleanup_interval_hours", unit: 3600, in: 1...year) { settings.cleanupIntervalSeconds = value }
        if let value = reader.int(table, "retention_days", in: 1...36500) { settings.retentionDays = value }
        if let value = reader.bool(table, "auto_restart") { settings.autoRestart = value }
        if let value = reader.int(table, "max_restart_attempts", in: 0...100) { settings.maxRestartAttempts = value }
        if let value = reader.interval(table, "health_check_interval_seconds", unit: 1, in: 1...86400) { settings.healthCheckIntervalSeconds = value }
        if let value = reader.interval(table, "health_check_timeout_seconds", unit: 1, in: 1...3600) { settings.healthCheckTimeoutSeconds = value }
        if let value = reader.int(table, "min_free_disk_percent", in: 0...99) { settings.minimumFreeDiskPercent = value }
        if let value = reader.int(table, "reclaim_threshold_percent", in: 1...100) { settings.reclaimThresholdPercent = value }
        if let value = reader.int(table, "reclaim_min_free_mb", in: 0...1_048_576) { settings.reclaimMinimumBytes = Int64(value) << 20 }
        if let value = reader.interval(table, "backup_sync_patience_seconds", unit: 1, in: 0...3600) { settings.backupSyncPatienceSeconds = value }
    }
}
