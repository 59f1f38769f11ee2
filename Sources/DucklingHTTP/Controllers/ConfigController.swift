import DucklingCore
import Foundation
import Hummingbird
import ObjectStorage

/// `GET /config/summary` (the effective configuration, every secret masked) and
/// `GET /config/validate` (the static checks and live ones: directories writable, each source
/// reachable, the S3 bucket reachable with the configured credentials, the encryption key present).
/// Both for `?db=`, with the server's admin key.
struct ConfigController {
    let services: DucklingServices

    func addRoutes(to routes: RouteTable) {
        let config = routes.group("/config", .admin)
        config.get("/summary") { _, context in
            let id = try context.database()
            return ConfigSummaryResponse(configuration: services.configuration, database: id)
        }
        config.get("/validate") { _, context in try await validate(context) }
    }

    private func validate(_ context: DucklingRequestContext) async throws -> ConfigValidationResponse {
        let id = try context.database()
        guard let database = services.configuration.database(id) else { throw APIError.notFound("database_not_found", "no database with id '\(id)'") }
        var checks: [ConfigValidationResponse.Check] = [
            .init(name: "configuration", ok: true, message: "parsed and checked at start (\(services.configuration.file ?? "defaults and environment"))"),
        ]
        var directories = [("data_dir", services.configuration.server.dataDirectory), ("database directory", (database.path as NSString).deletingLastPathComponent),
                           ("backup.local_dir", database.backup.localDirectory)]
        if let temp = services.configuration.engine.tempDirectory { directories.append(("duckdb.temp_directory", temp)) }
        for (name, directory) in directories {
            checks.append(await Self.writable(name: name, directory: directory))
        }
        if let engine = services.syncScheduler.engine(for: id) {
            for probe in await engine.probeSources(timeoutSeconds: database.automation.healthCheckTimeoutSeconds) {
                checks.append(.init(name: "source \(probe.source)", ok: probe.reachable,
                                    message: probe.reachable ? "reachable (\(probe.milliseconds) ms)" : "unreachable: \(probe.error ?? "no answer")"))
            }
        }
        if let s3 = database.backup.s3 {
            if s3.encryption == .clientAES256 {
                let present = s3.encryptionKey != nil || s3.passphrase != nil
                checks.append(.init(name: "backup encryption key", ok: present,
                                    message: present ? "present (\(s3.encryptionKey != nil ? "DUCKLING_BACKUP_KEY" : "passphrase"))" : "missing: set DUCKLING_BACKUP_KEY"))
            }
            if let service = services.backups[id] {
                let started = ContinuousClock.now
                let problem: String?
                do {
                    problem = try await service.listRemote() == nil ? "no S3 bucket is configured" : nil
                } catch {
                    problem = "not reachable with the configured credentials: \(error)"
                }
                let elapsed = Int((ContinuousClock.now - started) / .milliseconds(1))
                checks.append(.init(name: "s3 bucket \(s3.bucket)", ok: problem == nil,
                                    message: problem ?? "reachable with the configured credentials (\(elapsed) ms)"))
            } else {
                checks.append(.init(name: "s3 bucket \(s3.bucket)", ok: false, message: services.backupSetupErrors[id] ?? "not usable"))
            }
        }
        return ConfigValidationResponse(database: id, valid: checks.allSatisfy(\.ok), checks: checks)
    }

    private static func writable(name: String, directory: String) async -> ConfigValidationResponse.Check {
        // A check creates nothing: a directory that does not exist yet needs a writable parent.
        let (ok, detail) = await BlockingIO.run { () -> (Bool, String) in
            var existing = directory
            while !FileManager.default.fileExists(atPath: existing) && existing != "/" {
                existing = (existing as NSString).deletingLastPathComponent
            }
            let writable = FileManager.default.isWritableFile(atPath: existing)
            if existing == directory { return (writable, writable ? directory : "\(directory) is not writable") }
            return (writable, writable ? "\(directory) (created on first use in \(existing))" : "\(directory) cannot be created: \(existing) is not writable")
        }
        return .init(name: "\(name) writable", ok: ok, message: detail)
    }
}

struct ConfigValidationResponse: ResponseEncodable {
    struct Check: Encodable {
        let name: String
        let ok: Bool
        let message: String
    }

    let success = true
    let database: String
    let valid: Bool
    let checks: [Check]
}

/// The effective configuration for one database, every secret shown only as set or not.
struct ConfigSummaryResponse: ResponseEncodable {
    struct Server: Encodable {
        let host: String
        let port: Int
        let dataDir: String
        let apiKey: String
        let readOnlyKeys: Int
        let maxBodyBytes: Int

        enum CodingKeys: String, CodingKey {
            case host, port
            case dataDir = "data_dir"
            case apiKey = "api_key"
            case readOnlyKeys = "read_only_keys"
            case maxBodyBytes = "max_body_bytes"
        }
    }

    struct Engine: Encodable {
        let memoryLimit: String
        let threads: Int?
        let tempDirectory: String?
        let syncMode: String
        let syncWorkers: Int

        enum CodingKeys: String, CodingKey {
            case threads
            case memoryLimit = "memory_limit"
            case tempDirectory = "temp_directory"
            case syncMode = "sync_mode"
            case syncWorkers = "sync_workers"
        }
    }

    struct Automation: Encodable {
        let autoStartSync: Bool
        let syncIntervalSeconds: Int
        let autoBackup: Bool
        let backupIntervalSeconds: Int
        let backupRetentionDays: Int
        let autoCleanup: Bool
        let cleanupIntervalSeconds: Int
        let retentionDays: Int
        let autoRestart: Bool
        let maxRestartAttempts: Int
        let healthCheckIntervalSeconds: Int

        init(_ settings: AutomationSettings) {
            autoStartSync = settings.autoStartSync
            syncIntervalSeconds = settings.syncIntervalSeconds
            autoBackup = settings.autoBackup
            backupIntervalSeconds = settings.backupIntervalSeconds
            backupRetentionDays = settings.backupRetentionDays
            autoCleanup = settings.autoCleanup
            cleanupIntervalSeconds = settings.cleanupIntervalSeconds
            retentionDays = settings.retentionDays
            autoRestart = settings.autoRestart
            maxRestartAttempts = settings.maxRestartAttempts
            healthCheckIntervalSeconds = settings.healthCheckIntervalSeconds
        }

        enum CodingKeys: String, CodingKey {
            case autoStartSync = "auto_start_sync"
            case syncIntervalSeconds = "sync_interval_seconds"
            case autoBackup = "auto_backup"
            case backupIntervalSeconds = "backup_interval_seconds"
            case backupRetentionDays = "backup_retention_days"
            case autoCleanup = "auto_cleanup"
            case cleanupIntervalSeconds = "cleanup_interval_seconds"
            case retentionDays = "retention_days"
            case autoRestart = "auto_restart"
            case maxRestartAttempts = "max_restart_attempts"
            case healthCheckIntervalSeconds = "health_check_interval_seconds"
        }
    }

    struct Source: Encodable {
        let name: String
        let kind: String
        let url: String
    }

    struct Dataset: Encodable {
        let name: String
        let source: String
        let table: String?
        let incrementalColumn: String?
        let primaryKey: [String]
        let refreshIntervalSeconds: Int?

        enum CodingKeys: String, CodingKey {
            case name, source, table
            case incrementalColumn = "incremental_column"
            case primaryKey = "primary_key"
            case refreshIntervalSeconds = "refresh_interval_seconds"
        }
    }

    struct S3: Encodable {
        let bucket: String
        let prefix: String
        let endpoint: String
        let region: String
        let pathStyle: Bool
        let accessKey: String
        let secretKey: String
        let sessionToken: String
        let encryption: String
        let encryptionKey: String
        let intervalSeconds: Int
        let keepLast: Int

        enum CodingKeys: String, CodingKey {
            case bucket, prefix, endpoint, region, encryption
            case pathStyle = "path_style"
            case accessKey = "access_key"
            case secretKey = "secret_key"
            case sessionToken = "session_token"
            case encryptionKey = "encryption_key"
            case intervalSeconds = "interval_seconds"
            case keepLast = "keep_last"
        }
    }

    struct Backup: Encodable {
        let localDir: String
        let keepLast: Int
        let retentionDays: Int
        let s3: S3?

        enum CodingKeys: String, CodingKey {
            case s3
            case localDir = "local_dir"
            case keepLast = "keep_last"
            case retentionDays = "retention_days"
        }
    }

    struct Database: Encodable {
        let id: String
        let path: String
        let sources: [Source]
        let datasets: [Dataset]
        let backup: Backup
        let automation: Automation
        let apiKeys: Int

        enum CodingKeys: String, CodingKey {
            case id, path, sources, datasets, backup, automation
            case apiKeys = "api_keys"
        }
    }

    let success = true
    let file: String?
    let server: Server
    let duckdb: Engine
    let database: Database

    init(configuration: DucklingConfiguration, database id: String) {
        let masked = { (secret: Secret?) in secret == nil ? "not set" : "set" }
        file = configuration.file
        let server = configuration.server
        self.server = Server(host: server.host, port: server.port, dataDir: server.dataDirectory, apiKey: server.apiKey == nil ? "generated" : "set",
                             readOnlyKeys: server.readOnlyKeys.count, maxBodyBytes: server.maxBodyBytes)
        let engine = configuration.engine
        duckdb = Engine(memoryLimit: engine.memoryLimit ?? "\(engine.maxMemoryPercentage)% of RAM", threads: engine.threads,
                        tempDirectory: engine.tempDirectory, syncMode: engine.syncMode.rawValue, syncWorkers: engine.syncWorkers)
        let settings = configuration.database(id)
        let backup = settings?.backup
        database = Database(
            id: id, path: settings?.path ?? "",
            sources: settings?.sources.map { Source(name: $0.name, kind: $0.kind.rawValue, url: ConfigurationSummary.redacted($0.url.value)) } ?? [],
            datasets: settings?.datasets.map { dataset in
                let table: String? = if case .table(let name) = dataset.shape { name } else { nil }
                return Dataset(name: dataset.name, source: dataset.source, table: table, incrementalColumn: dataset.incrementalColumn,
                               primaryKey: dataset.primaryKey, refreshIntervalSeconds: dataset.refreshIntervalSeconds)
            } ?? [],
            backup: Backup(
                localDir: backup?.localDirectory ?? "", keepLast: backup?.keepLast ?? 0, retentionDays: backup?.retentionDays ?? 0,
                s3: backup?.s3.map { s3 in
                    S3(bucket: s3.bucket, prefix: s3.prefix, endpoint: s3.endpoint, region: s3.region, pathStyle: s3.pathStyle,
                       accessKey: masked(s3.accessKey), secretKey: masked(s3.secretKey), sessionToken: masked(s3.sessionToken),
                       encryption: s3.encryption.rawValue, encryptionKey: s3.encryptionKey != nil ? "set" : s3.passphrase != nil ? "passphrase set" : "not set",
                       intervalSeconds: s3.intervalSeconds, keepLast: s3.keepLast)
                }),
            automation: Automation(settings?.automation ?? configuration.automation),
            apiKeys: settings?.apiKeys.count ?? 0)
    }
}
