public import AsyncHTTPClient
public import Logging
import DuckDBKit
import Foundation
public import ObjectStorage
import Synchronization

/// Backups of one database (DESIGN.md §7): verified local snapshots, encrypted S3 copies,
/// retention, verification and restore. One backup or restore of a database runs at a time.
public final class BackupService: Sendable {
    public let database: ManagedDatabase
    let sync: SyncEngine?
    /// Where each backup's and restore's lineage and status go.
    let reporter: JobReporter
    let logger: Logger
    let localRoot: URL
    let remote: RemoteBackups?
    private let busy = Mutex<String?>(nil)

    /// The S3 side: the bucket, the key prefix, and how objects are encrypted.
    struct RemoteBackups: Sendable {
        let store: any ObjectStore
        let prefix: String
        let keySource: BackupKeySource?
        let keepLast: Int
    }

    /// `httpClient` is needed when the database has an S3 bucket configured; `storeOptions` tunes
    /// its requests (tests shorten the retry delays).
    public init(database: ManagedDatabase, sync: SyncEngine?, httpClient: HTTPClient?, storeOptions: S3Store.Options = S3Store.Options(),
                reporter: JobReporter = .silent, logger: Logger) throws {
        self.database = database
        self.sync = sync
        self.reporter = reporter
        var logger = logger
        logger[metadataKey: "duckling.database"] = .string(database.id)
        self.logger = logger
        let backup = database.settings.backup
        self.localRoot = URL(fileURLWithPath: backup.localDirectory)
        guard let s3 = backup.s3 else {
            self.remote = nil
            return
        }
        guard let httpClient else { throw BackupError(.configuration, "S3 backups need an HTTP client") }
        guard let endpoint = URL(string: s3.endpoint) else { throw BackupError(.configuration, "invalid S3 endpoint \(s3.endpoint)") }
        let credentials = s3.accessKey.flatMap { access in
            s3.secretKey.map { S3Credentials(accessKey: access.value, secretKey: $0.value, sessionToken: s3.sessionToken?.value) }
        }
        let store = S3Store(endpoint: endpoint, bucket: s3.bucket, region: s3.region, credentials: credentials, pathStyle: s3.pathStyle,
                            client: httpClient, options: storeOptions, logger: logger)
        var keySource: BackupKeySource?
        if s3.encryption == .clientAES256 {
            if let key = s3.encryptionKey {
                keySource = try BackupKeySource.base64(key.value)
            } else if let passphrase = s3.passphrase {
                keySource = .passphrase(passphrase.value)
            } else {
                throw BackupError(.configuration, "client-aes256 needs DUCKLING_BACKUP_KEY or a passphrase; backups are never uploaded unencrypted")
            }
        }
        self.remote = RemoteBackups(store: store, prefix: s3.prefix, keySource: keySource, keepLast: s3.keepLast)
    }

    public var hasS3: Bool { remote != nil }

    var settings: BackupSettings { database.settings.backup }

    /// Runs `body` as this database's one backup or restore; another at the same time is refused.
    func exclusively<T: Sendable>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        try busy.withLock { current in
            if let current { throw BackupError(.busy, "a \(current) of database '\(database.id)' is already running") }
            current = operation
        }
        defer { busy.withLock { $0 = nil } }
        return try await body()
    }

    /// Runs `body` (one backup or restore, already holding the database's turn) as a reported job.
    func reported<T: Sendable>(_ kind: JobReporter.Kind, inputs: [LineageService.Dataset] = [], outputs: [LineageService.Dataset] = [],
                               ending: @Sendable (T) -> JobReporter.Ending, _ body: () async throws -> T) async throws -> T {
        try await reporter.run(kind, name: "\(database.id).\(kind.rawValue)", database: database.id, inputs: inputs, outputs: outputs,
                               ending: ending, body)
    }

    /// The database itself, as the input of a backup and the output of a restore.
    var databaseDataset: LineageService.Dataset {
        var dataset = reporter.database(database.id)
        dataset.byteCount = database.storageBytes.file
        return dataset
    }

    /// A local backup's database file, as a lineage dataset.
    func lineageDataset(of backup: LocalBackup) -> LineageService.Dataset {
        var dataset = JobReporter.file(backup.directory.appendingPathComponent(backup.manifest.file).path)
        dataset.byteCount = backup.manifest.size
        dataset.rowCount = backup.manifest.tables.reduce(0) { $0 + Int($1.rows) }
        return dataset
    }

    /// An object of the S3 backups, as a lineage dataset.
    func lineageDataset(s3Key key: String, size: Int64? = nil) -> LineageService.Dataset {
        let location = remote?.store.location ?? "s3://"
        var dataset = location.hasPrefix("s3://") ? LineageService.Dataset(namespace: location, name: key) : JobReporter.file(location + "/" + key)
        dataset.byteCount = size
        return dataset
    }

    /// Local and S3 backups, newest first. An S3 listing failure is reported in `s3Error`, not thrown.
    public func list() async throws -> (backups: [BackupListing], s3Error: String?) {
        var listings = try await localBackups().map { backup in
            BackupListing(name: backup.name, location: .local, key: backup.name, size: backup.manifest.size,
                          createdAt: backup.createdAt, verified: backup.verified)
        }
        var s3Error: String?
        if remote != nil {
            do {
                listings += try await remoteBackups().map {
                    BackupListing(name: ($0.dataKey as NSString).lastPathComponent, location: .s3, key: $0.dataKey,
                                  size: $0.size, createdAt: $0.createdAt, verified: true)
                }
            } catch {
                s3Error = String(describing: error)
            }
        }
        return (listings.sorted { $0.createdAt > $1.createdAt }, s3Error)
    }

    /// Removes a temporary file or directory on the blocking I/O threads; a failure is logged
    /// (the next backup or restore of this database removes what is left).
    func removeTemporary(_ url: URL) async {
        await BlockingIO.runLogged(logger) {
            if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
        }
    }

    /// Maps low-level failures to backup errors with a clear kind.
    static func classify(_ error: any Error, doing what: String) -> any Error {
        switch error {
        case is BackupError, is CancellationError, is DatabaseUnavailable, is SyncError:
            return error
        case let error as ObjectStoreError:
            if error.systemError == ENOSPC { return BackupError(.noSpace, "\(what): the disk is full (\(error.message))") }
            if error.kind == .localFile { return BackupError(.io, "\(what): \(error.message)") }
            if error.kind == .authentication { return BackupError(.storage, "\(what): S3 refused the credentials: \(error.message)") }
            return BackupError(.storage, "\(what): \(error.message)")
        default:
            return BackupError(.io, "\(what): \(error)")
        }
    }
}
