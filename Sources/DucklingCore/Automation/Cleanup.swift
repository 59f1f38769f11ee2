public import Foundation
import DuckDBKit
import Logging
import ObjectStorage
import Synchronization

/// What a cleanup did.
public struct CleanupReport: Sendable, Codable {
    public var checkpointed = false
    public var backupsRemoved: [String] = []
    public var s3BackupsRemoved: [String] = []
    public var syncLogRowsRemoved = 0
    public var taskRunsRemoved = 0
    public var stagingTablesDropped: [String] = []
    public var tempFilesRemoved: [String] = []
    /// The share of the file's blocks DuckDB reported free before any rewrite.
    public var freeBlocksPercent: Double?
    /// Whether the file was rewritten to give its free blocks back to the file system.
    public var rewritten = false
    public var fileBytesBefore: Int64?
    public var fileBytesAfter: Int64?
    /// Steps that failed; the others still ran.
    public var warnings: [String] = []
    /// The lake's maintenance, table by table, when this cleanup maintained it.
    public var lakeMaintenance: [MaintenanceReport]?

    enum CodingKeys: String, CodingKey {
        case checkpointed, rewritten, warnings
        case backupsRemoved = "backups_removed"
        case s3BackupsRemoved = "s3_backups_removed"
        case syncLogRowsRemoved = "sync_log_rows_removed"
        case taskRunsRemoved = "task_runs_removed"
        case stagingTablesDropped = "staging_tables_dropped"
        case tempFilesRemoved = "temp_files_removed"
        case freeBlocksPercent = "free_blocks_percent"
        case fileBytesBefore = "file_bytes_before"
        case fileBytesAfter = "file_bytes_after"
        case lakeMaintenance = "lake_maintenance"
    }
}

/// Cleanup of one database (DESIGN.md §8, the seed's list): `CHECKPOINT`, backup rotation, sync
/// and task logs older than `RETENTION_DAYS`, staging tables and spill files killed runs left,
/// and real space reclamation: DuckDB keeps freed blocks inside its file, so when they pass
/// `reclaim_threshold_percent` of it, the file is rewritten (`COPY FROM DATABASE`), verified and
/// swapped in with the restore's swap. Each step that fails is a warning; the rest still run.
final class Cleanup: Sendable {
    let database: ManagedDatabase
    let sync: SyncEngine
    let backups: BackupService?
    let engine: EngineSettings
    let settings: AutomationSettings
    let logger: Logger
    private let warnings = Mutex<[String]>([])

    init(database: ManagedDatabase, sync: SyncEngine, backups: BackupService?, engine: EngineSettings, settings: AutomationSettings, logger: Logger) {
        self.database = database
        self.sync = sync
        self.backups = backups
        self.engine = engine
        self.settings = settings
        self.logger = logger
    }

    func run() async -> CleanupReport {
        var report = CleanupReport()
        report.fileBytesBefore = database.storageBytes.file
        await step("checkpoint") {
            try await database.withWriter { try await BackupService.checkpoint($0) }
            report.checkpointed = true
        }
        if let backups {
            await step("local backup rotation") { report.backupsRemoved = try await backups.applyLocalRetention() }
            if backups.hasS3 {
                await step("S3 backup rotation") { report.s3BackupsRemoved = try await backups.applyS3Retention() }
            }
        }
        await step("log pruning") {
            let days = settings.retentionDays
            (report.syncLogRowsRemoved, report.taskRunsRemoved) = try await database.withSharedWriter { writer in
                try await writer.run { connection in
                    try SyncStateStore.createTables(on: connection)
                    try TaskStore.createTables(on: connection)
                    return (try SyncStateStore.pruneLog(olderThan: days, on: connection), try TaskStore.prune(olderThan: days, on: connection))
                }
            }
        }
        await step("staging tables") { report.stagingTablesDropped = try await sync.dropLeftoverStaging() }
        await step("temporary files") {
            report.tempFilesRemoved = try await removeOrphanedSpillFiles() + (try await removeUnfinishedRewrites())
        }
        await step("space reclamation") {
            let usage = try await blockUsage()
            report.freeBlocksPercent = usage.map { $0.total == 0 ? 0 : (Double($0.free) * 100 / Double($0.total) * 10).rounded() / 10 }
            let freeBytes = (usage?.free ?? 0) * (report.fileBytesBefore ?? 0) / max(1, usage?.total ?? 1)
            if let percent = report.freeBlocksPercent, percent >= Double(settings.reclaimThresholdPercent), freeBytes >= settings.reclaimMinimumBytes {
                try await rewrite()
                report.rewritten = true
            }
        }
        report.fileBytesAfter = database.storageBytes.file
        report.warnings = warnings.withLock { $0 }
        logger.info("cleanup finished", metadata: [
            "duckling.rewritten": .stringConvertible(report.rewritten),
            "duckling.bytes_before": .stringConvertible(report.fileBytesBefore ?? 0),
            "duckling.bytes_after": .stringConvertible(report.fileBytesAfter ?? 0),
            "duckling.warnings": .stringConvertible(report.warnings.count),
        ])
        return report
    }

    /// Runs one step; a failure is kept as a warning and the next step still runs.
    private func step(_ name: String, _ body: () async throws -> Void) async {
        do {
            try await body()
        } catch {
            warnings.withLock { $0.append("\(name): \(error)") }
            logger.warning("a cleanup step failed", metadata: ["duckling.step": .string(name), "duckling.error": .string(String(describing: error))])
        }
    }

    // MARK: - Spill files

    /// Files in the database's spill directory that its instance does not use and that are older
    /// than the instance (a killed process left them).
    private func removeOrphanedSpillFiles() async throws -> [String] {
        guard let root = engine.tempDirectory else { return [] }
        let directory = root + "/" + database.id
        let instance = try database.currentInstance()
        let present = try await BlockingIO.run { try Self.files(in: directory) }
        guard !present.isEmpty else { return [] }
        let active = try await database.withReader { connection in
            try await connection.run { duckdb in
                Set(try duckdb.query("SELECT path FROM duckdb_temporary_files()").rows().compactMap { $0.first?.text })
            }
        }
        let openedAt = instance.openedAt
        return try await BlockingIO.run {
            var removed: [String] = []
            for (path, modified) in present where !active.contains(path) && modified < openedAt {
                try FileManager.default.removeItem(atPath: path)
                removed.append((path as NSString).lastPathComponent)
            }
            return removed
        }
    }

    private static func files(in directory: String) throws -> [(String, Date)] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.compactMap { name in
            let path = directory + "/" + name
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                  attributes[.type] as? FileAttributeType == .typeRegular else { return nil }
            return (path, attributes[.modificationDate] as? Date ?? .distantPast)
        }
    }

    /// The copies a rewrite killed mid-way left beside the database file (only cleanup makes
    /// them, and one cleanup of a database runs at a time).
    private func removeUnfinishedRewrites() async throws -> [String] {
        let path = database.settings.path
        return try await BlockingIO.run {
            let directory = (path as NSString).deletingLastPathComponent
            let stem = "." + (path as NSString).lastPathComponent + Self.rewriteMarker
            var removed: [String] = []
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            where (name.hasPrefix(stem) || name.hasPrefix("." + stem)) && FileCopy.isTemporary(name) {
                try FileManager.default.removeItem(atPath: directory + "/" + name)
                removed.append(name)
            }
            return removed
        }
    }

    static let rewriteMarker = ".compact"

    // MARK: - Space reclamation

    private func blockUsage() async throws -> (free: Int64, total: Int64)? {
        let statistics = try await database.engineStatistics()
        guard let free = statistics.freeBlocks, let total = statistics.totalBlocks else { return nil }
        return (free, total)
    }

    /// Rewrites the file without its free blocks. Syncs pause for the whole rewrite (so nothing is
    /// written that the new file would miss); queries go on against the old file until the swap,
    /// during which they get 503 with `Retry-After`; on any failure the old file stays.
    private func rewrite() async throws {
        let path = database.settings.path
        let directory = URL(fileURLWithPath: (path as NSString).deletingLastPathComponent)
        // Temporary names (FileCopy's): a crash leaves them to removeUnfinishedRewrites().
        let snapshot = FileCopy.temporaryURL(beside: URL(fileURLWithPath: path + Self.rewriteMarker + "-source"))
        let rewritten = FileCopy.temporaryURL(beside: URL(fileURLWithPath: path + Self.rewriteMarker))
        let result: Result<Void, any Error>
        do {
            try await rewrite(via: snapshot, into: rewritten, directory: directory)
            result = .success(())
        } catch {
            result = .failure(error)
        }
        await BlockingIO.runLogged(logger) {
            for leftover in [snapshot.path, rewritten.path, rewritten.path + ".wal"] where FileManager.default.fileExists(atPath: leftover) {
                try FileManager.default.removeItem(atPath: leftover)
            }
        }
        try result.get()
    }

    private func rewrite(via snapshot: URL, into rewritten: URL, directory: URL) async throws {
        let path = database.settings.path
        try await sync.withSyncPaused(reason: "cleanup is rewriting the database file") {
            let size = try await database.withWriter { writer in
                try await BackupService.checkpoint(writer)
                let size = try await BlockingIO.run { [id = database.id] in
                    let size = try FileDescriptor.open(path, flags: O_RDONLY).withClose { try $0.size() }
                    try DiskSpace.require(size * 2, at: directory, for: "rewriting '\(id)'")
                    return size
                }
                try await FileCopy.copy(from: URL(fileURLWithPath: path), to: snapshot)
                return size
            }
            let expected = try await BlockingIO.run { [memory = database.memory, logger] in
                let expected = try DatabaseContents.read(file: snapshot.path, memoryLimit: memory.transientLimit)
                try Self.copyDatabase(from: snapshot.path, to: rewritten.path, memoryLimit: memory.transientLimit)
                let copied = try DatabaseContents.read(file: rewritten.path, memoryLimit: memory.transientLimit)
                guard copied == expected else {
                    throw BackupError(.verification, "the rewritten file does not hold what the database held; the old file stays")
                }
                logger.info("database rewritten", metadata: ["duckling.bytes_before": .stringConvertible(size)])
                return expected
            }
            try await Failpoints.hit("cleanup.before-swap", scope: path)
            try await database.replaceFile(with: rewritten, reason: "being compacted") { connection in
                guard try DatabaseContents.read(on: connection) == expected else {
                    throw BackupError(.verification, "the compacted file changed when it was reopened")
                }
            }
        }
    }

    /// `COPY FROM DATABASE` in an instance of its own: the old file read-only, the new one created.
    /// Blocks: call it off the cooperative pool.
    static func copyDatabase(from source: String, to target: String, memoryLimit: String) throws {
        let instance = try Database(path: nil, configuration: DatabaseConfiguration(memoryLimit: memoryLimit, threads: 1))
        defer { instance.close() }
        let connection = try instance.connect()
        defer { connection.close() }
        try connection.execute("ATTACH \(SQL.literal(source)) AS compact_source (READ_ONLY)")
        try connection.execute("ATTACH \(SQL.literal(target)) AS compact_target")
        try connection.execute("COPY FROM DATABASE compact_source TO compact_target")
        try connection.execute("DETACH compact_target")
        try connection.execute("DETACH compact_source")
    }
}
