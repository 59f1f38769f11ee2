/// The automation keys, shared by the top-level `automation:` section and per-database overrides.
enum AutomationKeys {
    static let all = [
        "auto_start_sync", "sync_interval_minutes", "enable_incremental_sync", "auto_backup",
        "backup_interval_hours", "backup_retention_days", "auto_cleanup", "cleanup_interval_hours",
        "retention_days", "auto_restart", "max_restart_attempts", "health_check_interval_seconds",
    ]

    static func apply(_ table: ConfigReader.Table, reader: ConfigReader, to settings: inout AutomationSettings) {
        if let value = reader.bool(table, "auto_start_sync") { settings.autoStartSync = value }
        if let value = reader.int(table, "sync_interval_minutes", in: 0...525_600) { settings.syncIntervalMinutes = value }
        if let value = reader.bool(table, "enable_incremental_sync") { settings.enableIncrementalSync = value }
        if let value = reader.bool(table, "auto_backup") { settings.autoBackup = value }
        if let value = reader.int(table, "backup_interval_hours", in: 1...8760) { settings.backupIntervalHours = value }
        if let value = reader.int(table, "backup_retention_days", in: 0...36500) { settings.backupRetentionDays = value }
        if let value = reader.bool(table, "auto_cleanup") { settings.autoCleanup = value }
        if let value = reader.int(table, "cleanup_interval_hours", in: 1...8760) { settings.cleanupIntervalHours = value }
        if let value = reader.int(table, "retention_days", in: 1...36500) { settings.retentionDays = value }
        if let value = reader.bool(table, "auto_restart") { settings.autoRestart = value }
        if let value = reader.int(table, "max_restart_attempts", in: 0...100) { settings.maxRestartAttempts = value }
        if let value = reader.int(table, "health_check_interval_seconds", in: 1...86400) { settings.healthCheckIntervalSeconds = value }
    }
}
