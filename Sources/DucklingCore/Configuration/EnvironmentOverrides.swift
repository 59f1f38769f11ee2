/// The environment variables Duckling honours (the seeds' names and a few of its own), applied
/// over the file's values.
enum EnvironmentOverrides {
    static func apply(
        _ environment: [String: String], reader: ConfigReader,
        server: inout ServerSettings, engine: inout EngineSettings, automation: inout AutomationSettings, lineage: inout LineageSettings
    ) {
        func value(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        func int(_ name: String, _ range: ClosedRange<Int>) -> Int? {
            value(name).flatMap { reader.parseInt($0, key: name, range: range) }
        }
        func bool(_ name: String) -> Bool? {
            value(name).flatMap { reader.parseBool($0, key: name) }
        }

        if let key = value("DUCKLING_API_KEY") { server.apiKey = Secret(key) }
        if let keys = value("DUCKLING_READ_ONLY_KEYS") {
            server.readOnlyKeys = keys.split(separator: ",").map { Secret($0.trimmingCharacters(in: .whitespaces)) }.filter { !$0.isEmpty }
        }
        if let host = value("DUCKLING_HOST") { server.host = host }
        if let port = int("DUCKLING_PORT", 1...65535) { server.port = port }
        if let directory = value("DUCKLING_DATA_DIR") { server.dataDirectory = directory }

        if let limit = value("DUCKDB_MEMORY_LIMIT") { engine.memoryLimit = limit }
        if let threads = int("DUCKDB_WORKER_THREADS", 1...1024) { engine.threads = threads }
        if let directory = value("DUCKDB_TEMP_DIRECTORY") { engine.tempDirectory = directory }
        if let percentage = int("DUCKDB_MAX_MEMORY_PERCENTAGE", 1...100) { engine.maxMemoryPercentage = percentage }
        if let compression = value("PARQUET_COMPRESSION") { engine.parquetCompression = compression.lowercased() }
        if let size = int("PARQUET_ROW_GROUP_SIZE", 1...100_000_000) { engine.parquetRowGroupSize = size }

        if let flag = bool("AUTO_START_SYNC") { automation.autoStartSync = flag }
        if let minutes = int("SYNC_INTERVAL_MINUTES", 0...525_600) { automation.syncIntervalSeconds = minutes * 60 }
        if let flag = bool("ENABLE_INCREMENTAL_SYNC") { automation.enableIncrementalSync = flag }
        if let flag = bool("AUTO_BACKUP") { automation.autoBackup = flag }
        if let hours = int("BACKUP_INTERVAL_HOURS", 1...8760) { automation.backupIntervalSeconds = hours * 3600 }
        if let days = int("BACKUP_RETENTION_DAYS", 0...36500) { automation.backupRetentionDays = days }
        if let flag = bool("AUTO_CLEANUP") { automation.autoCleanup = flag }
        if let hours = int("CLEANUP_INTERVAL_HOURS", 1...8760) { automation.cleanupIntervalSeconds = hours * 3600 }
        if let days = int("RETENTION_DAYS", 1...36500) { automation.retentionDays = days }
        if let flag = bool("AUTO_RESTART") { automation.autoRestart = flag }
        if let attempts = int("MAX_RESTART_ATTEMPTS", 0...100) { automation.maxRestartAttempts = attempts }

        // OpenLineage's own names, as its clients read them.
        if let url = value("OPENLINEAGE_URL") { lineage.url = url }
        if let endpoint = value("OPENLINEAGE_ENDPOINT") { lineage.endpoint = endpoint }
        if let key = value("OPENLINEAGE_API_KEY") { lineage.apiKey = Secret(key) }
        if let namespace = value("OPENLINEAGE_NAMESPACE") { lineage.namespace = namespace }
    }
}
