import Foundation
import Yams

/// Parses `databases:` — each database's file, sources, datasets, backups, automation overrides
/// and keys — and checks the references between them.
struct DatabasesSection {
    let reader: ConfigReader
    let fileDirectory: String
    let dataDirectory: String
    let home: String?

    static let defaultID = "default"

    func parse(_ node: Node?, automation: AutomationSettings, environment: [String: String]) -> [DatabaseSettings] {
        var databases: [DatabaseSettings] = []
        for (id, node) in reader.namedTables(node, at: "databases") {
            let path = "databases.\(id)"
            guard Names.isValidDatabaseID(id) else {
                reader.report(path, "database ids may use letters, digits, '-' and '_' (at most 64)")
                continue
            }
            guard let table = reader.table(node, at: path, allowed: ["path", "sources", "datasets", "backup", "automation", "api_keys"]) else {
                continue
            }
            var settings = DatabaseSettings(
                id: id,
                path: reader.string(table, "path").map(resolve) ?? "\(dataDirectory)/duckling-\(id).db",
                backup: BackupSettings(localDirectory: "\(dataDirectory)/backups", retentionDays: automation.backupRetentionDays),
                automation: automation)
            if let overrides = reader.table(table["automation"], at: table.path("automation"), allowed: AutomationKeys.all) {
                AutomationKeys.apply(overrides, reader: reader, to: &settings.automation)
                settings.backup.retentionDays = settings.automation.backupRetentionDays
            }
            settings.apiKeys = (reader.strings(table, "api_keys") ?? []).filter { !$0.isEmpty }.map(Secret.init)
            settings.sources = parseSources(table["sources"], at: table.path("sources"))
            // References are checked against every declared source, so one bad URL is one problem.
            let declared = Set(ConfigReader.keys(of: table["sources"]))
            settings.datasets = parseDatasets(table["datasets"], at: table.path("datasets"), sources: declared)
            if let backup = parseBackup(table["backup"], at: table.path("backup"), defaults: settings.backup, environment: environment) {
                settings.backup = backup
            }
            databases.append(settings)
        }
        if !databases.contains(where: { $0.id == Self.defaultID }) {
            databases.insert(DatabaseSettings(
                id: Self.defaultID,
                path: "\(dataDirectory)/duckling-\(Self.defaultID).db",
                backup: BackupSettings(localDirectory: "\(dataDirectory)/backups", retentionDays: automation.backupRetentionDays),
                automation: automation), at: 0)
        }
        var owners: [String: String] = [:]
        for database in databases {
            if let other = owners[database.path] {
                reader.report("databases.\(database.id).path", "\(database.path) is already the file of database '\(other)'")
            }
            owners[database.path] = database.id
        }
        return databases
    }

    private func resolve(_ path: String) -> String {
        ConfigurationLoader.absolute(path, base: fileDirectory, home: home)
    }

    private func parseSources(_ node: Node?, at path: String) -> [SourceSettings] {
        reader.namedTables(node, at: path).compactMap { name, node in
            let sourcePath = "\(path).\(name)"
            guard Names.isValidName(name) else {
                reader.report(sourcePath, "source names may use letters, digits and '_'")
                return nil
            }
            let url: String?
            var connectTimeout: Int?
            if case .scalar = node {
                url = reader.text(node, at: sourcePath)
            } else if let table = reader.table(node, at: sourcePath, allowed: ["url", "connect_timeout"]) {
                url = reader.string(table, "url")
                connectTimeout = reader.int(table, "connect_timeout", in: 1...3600)
                if table["url"] == nil { reader.report(sourcePath, "a source needs a url") }
            } else {
                url = nil
            }
            guard let url else { return nil }
            guard let kind = SourceSettings.kind(of: url) else {
                reader.report(sourcePath + ".url", "expected a postgresql://, mysql:// or sqlite: URL")
                return nil
            }
            var source = SourceSettings(name: name, kind: kind, url: Secret(url))
            if let connectTimeout { source.connectTimeoutSeconds = connectTimeout }
            return source
        }
    }

    private static let datasetKeys = [
        "source", "table", "dataset_query", "results_query", "primary_key", "results_primary_key",
        "incremental_column", "lookback", "partition_column", "refresh_interval_minutes", "query_timeout",
        "max_sync_rows", "delete_detection", "soft_delete_column", "sync_mode",
    ]

    private func parseDatasets(_ node: Node?, at path: String, sources: Set<String>) -> [DatasetSettings] {
        reader.namedTables(node, at: path).compactMap { name, node in
            let datasetPath = "\(path).\(name)"
            guard Names.isValidName(name) else {
                reader.report(datasetPath, "dataset names may use letters, digits and '_' (they become table names)")
                return nil
            }
            guard let table = reader.table(node, at: datasetPath, allowed: Self.datasetKeys) else { return nil }
            let source = reader.string(table, "source")
            if source == nil && table["source"] == nil {
                reader.report(datasetPath, "a dataset needs a source")
            } else if let source, !sources.contains(source) {
                reader.report(table.path("source"), "no source named '\(source)' in this database")
            }
            let tableName = reader.string(table, "table")
            let datasetQuery = reader.string(table, "dataset_query")
            let resultsQuery = reader.string(table, "results_query")
            let shape: DatasetSettings.Shape?
            switch (tableName, datasetQuery, resultsQuery) {
            case (let tableName?, nil, nil):
                if Names.isValidQualifiedTable(tableName) {
                    shape = .table(tableName)
                } else {
                    reader.report(table.path("table"), "expected a table name such as orders or public.orders")
                    shape = nil
                }
            case (nil, let datasetQuery?, let resultsQuery?):
                shape = .split(datasetQuery: datasetQuery, resultsQuery: resultsQuery)
            default:
                if table["table"] != nil || table["dataset_query"] != nil || table["results_query"] != nil {
                    reader.report(datasetPath, "give either table, or both dataset_query and results_query")
                } else {
                    reader.report(datasetPath, "a dataset needs a table, or a dataset_query and a results_query")
                }
                shape = nil
            }
            guard let source, let shape else { return nil }
            var dataset = DatasetSettings(name: name, source: source, shape: shape)
            dataset.primaryKey = reader.strings(table, "primary_key") ?? []
            dataset.resultsPrimaryKey = reader.strings(table, "results_primary_key") ?? []
            dataset.incrementalColumn = reader.string(table, "incremental_column")
            dataset.lookbackSeconds = reader.seconds(table, "lookback") ?? 0
            dataset.partitionColumn = reader.string(table, "partition_column")
            dataset.refreshIntervalSeconds = reader.interval(table, "refresh_interval_minutes", unit: 60, in: 0...AutomationKeys.year)
            if let timeout = reader.int(table, "query_timeout", in: 1...86_400) { dataset.queryTimeoutSeconds = timeout }
            dataset.maxSyncRows = reader.int(table, "max_sync_rows", in: 1...Int(Int32.max) * 1000)
            if let detection = reader.choice(table, "delete_detection", as: DatasetSettings.DeleteDetection.self) {
                dataset.deleteDetection = detection
            }
            dataset.softDeleteColumn = reader.string(table, "soft_delete_column")
            dataset.syncMode = reader.choice(table, "sync_mode", as: EngineSettings.SyncMode.self)

            for column in dataset.primaryKey + dataset.resultsPrimaryKey + [dataset.incrementalColumn, dataset.partitionColumn, dataset.softDeleteColumn].compactMap({ $0 })
            where !Names.isValidColumn(column) {
                reader.report(datasetPath, "'\(column)' is not a usable column name")
            }
            if dataset.lookbackSeconds > 0 && dataset.primaryKey.isEmpty {
                reader.report(table.path("lookback"), "needs a primary_key: rows re-read inside the window are merged by key")
            }
            if dataset.lookbackSeconds > 0 && dataset.incrementalColumn == nil {
                reader.report(table.path("lookback"), "needs an incremental_column")
            }
            if dataset.maxSyncRows != nil && dataset.incrementalColumn != nil {
                // A capped run continues after the last (value, key) it read, so rows sharing a value are never skipped.
                if dataset.primaryKey.isEmpty {
                    reader.report(table.path("max_sync_rows"), "needs a primary_key with an incremental_column: a capped run continues after the last (value, key) it read")
                } else if case .split = shape, dataset.resultsPrimaryKey.isEmpty {
                    reader.report(table.path("max_sync_rows"), "needs a results_primary_key too: a capped run continues after the last (value, key) it read")
                }
            }
            if dataset.deleteDetection == .primaryKeyDiff && dataset.primaryKey.isEmpty {
                reader.report(table.path("delete_detection"), "primary_key_diff needs a primary_key")
            }
            if case .split = shape, dataset.resultsPrimaryKey.isEmpty == false, dataset.primaryKey.isEmpty {
                reader.report(table.path("results_primary_key"), "needs a primary_key for the dataset table too")
            }
            return dataset
        }
    }

    private func parseBackup(_ node: Node?, at path: String, defaults: BackupSettings, environment: [String: String]) -> BackupSettings? {
        guard let table = reader.table(node, at: path, allowed: ["local_dir", "keep_last", "retention_days", "s3"]) else { return nil }
        var backup = defaults
        if let directory = reader.string(table, "local_dir") { backup.localDirectory = resolve(directory) }
        if let keep = reader.int(table, "keep_last", in: 1...10_000) { backup.keepLast = keep }
        if let days = reader.int(table, "retention_days", in: 0...36500) { backup.retentionDays = days }
        if let s3 = reader.table(table["s3"], at: table.path("s3"), allowed: [
            "bucket_url", "endpoint", "region", "access_key", "secret_key", "session_token", "path_style",
            "encryption", "encryption_key", "passphrase", "interval_hours", "keep_last",
        ]) {
            backup.s3 = parseS3(s3, environment: environment)
        }
        return backup
    }

    private func parseS3(_ table: ConfigReader.Table, environment: [String: String]) -> S3Settings? {
        guard let bucketURL = reader.string(table, "bucket_url") else {
            if table["bucket_url"] == nil { reader.report(table.path, "s3 needs a bucket_url such as s3://bucket/prefix") }
            return nil
        }
        guard var s3 = reader.s3Connection(table, bucketURL: bucketURL, at: table.path("bucket_url")) else { return nil }
        if let encryption = reader.choice(table, "encryption", as: S3Settings.Encryption.self) { s3.encryption = encryption }
        s3.encryptionKey = reader.secret(table, "encryption_key") ?? environment["DUCKLING_BACKUP_KEY"].flatMap { $0.isEmpty ? nil : Secret($0) }
        s3.passphrase = reader.secret(table, "passphrase") ?? environment["DUCKLING_BACKUP_PASSPHRASE"].flatMap { $0.isEmpty ? nil : Secret($0) }
        if let seconds = reader.interval(table, "interval_hours", unit: 3600, in: 1...AutomationKeys.year) { s3.intervalSeconds = seconds }
        if let keep = reader.int(table, "keep_last", in: 1...10_000) { s3.keepLast = keep }
        if s3.encryption == .clientAES256 {
            if let key = s3.encryptionKey {
                if Data(base64Encoded: key.value)?.count != 32 {
                    reader.report(table.path("encryption_key"), "must be 32 random bytes in base64 (openssl rand -base64 32)")
                }
            } else if s3.passphrase == nil {
                reader.report(table.path("encryption"),
                              "client-aes256 needs DUCKLING_BACKUP_KEY (or encryption_key, or a passphrase); backups are never uploaded unencrypted")
            }
        }
        return s3
    }
}
