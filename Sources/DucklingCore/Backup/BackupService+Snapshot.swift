import DuckDBKit
import Foundation
import ObjectStorage

extension BackupService {
    /// Takes a verified local snapshot, then applies local retention.
    public func createLocal(progress: BackupProgressHandler? = nil) async throws -> BackupManifest {
        try await exclusively("backup") {
            try await reported(.backup, inputs: [databaseDataset], ending: { [self] (backup: LocalBackup) in
                .init(outputs: [lineageDataset(of: backup)], bytes: backup.manifest.size)
            }) {
                let backup = try await snapshot(progress: progress)
                await applyLocalRetentionLogged()
                return backup
            }.manifest
        }
    }

    /// Snapshot (DESIGN.md §7): under the write gate (sync writes pause, reads go on) CHECKPOINT,
    /// record row counts and watermarks, copy the file while hashing it, fsync. Then, with the gate
    /// released, open the copy read-only in an instance of its own and compare; only a copy that
    /// matches gets its manifest, and the directory is renamed into place last.
    func snapshot(progress: BackupProgressHandler?) async throws -> LocalBackup {
        let id = database.id
        let createdAt = Date()
        let backupID = BackupNaming.backupID(database: id, at: createdAt)
        let finalDirectory = localRoot.appendingPathComponent(backupID)
        let staging = FileCopy.temporaryURL(beside: finalDirectory)
        let fileName = BackupNaming.databaseFile(database: id)
        let copy = staging.appendingPathComponent(fileName)
        let source = URL(fileURLWithPath: database.settings.path)
        do {
            try await BlockingIO.run { [localRoot, logger] in
                try FileManager.default.createDirectory(at: localRoot, withIntermediateDirectories: true)
                Self.removeUnfinishedLocalBackups(in: localRoot, database: id, logger: logger)
                try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
            }
            let hasher = SHA256Hasher()
            let started = ContinuousClock.now
            // A sync stuck at its source holds the write path: once it has moved no row for the
            // patience it is cancelled (it rolls back and runs again later); a sync that moves
            // rows is waited for.
            let patience = Duration.seconds(database.settings.automation.backupSyncPatienceSeconds)
            let watchdog = sync.map { sync in Task { await sync.cancelStalledRuns(patience: patience) } }
            defer { watchdog?.cancel() }
            let (contents, size) = try await database.withWriter { writer in
                watchdog?.cancel()
                try await Self.checkpoint(writer)
                let contents = try await writer.run { try DatabaseContents.read(on: $0) }
                let expected = try await BlockingIO.run { [localRoot] in
                    let expected = try FileDescriptor.open(source.path, flags: O_RDONLY).withClose { try $0.size() }
                    try DiskSpace.require(expected, at: localRoot, for: "a backup of '\(id)'")
                    return expected
                }
                let size = try await FileCopy.copy(from: source, to: copy, observe: { hasher.update($0) }, progress: { bytes in
                    progress?(BackupProgress(phase: "snapshot", bytes: bytes, total: expected))
                })
                return (contents, size)
            }
            let (copied, storageVersion) = try await BlockingIO.run { [memory = database.memory] in
                (try DatabaseContents.read(file: copy.path, memoryLimit: memory.transientLimit), try DatabaseFileHeader.storageVersion(of: copy))
            }
            var manifest = BackupManifest(
                databaseID: id, backupID: backupID, createdAt: createdAt, duckdbVersion: Database.libraryVersion,
                storageVersion: storageVersion, file: fileName, size: size, sha256: hasher.hexDigest(),
                tables: contents.tables, watermarks: contents.watermarks)
            if let problem = copied.mismatch(with: manifest) {
                throw BackupError(.verification, "the backup copy of '\(id)' did not verify: \(problem)")
            }
            manifest.verifiedAt = Date()
            let encoded = try manifest.encoded()
            let backup = try await BlockingIO.run {
                try FileCopy.writeAtomically(encoded, to: staging.appendingPathComponent(BackupNaming.manifestFile))
                try FileCopy.rename(staging, to: finalDirectory)
                return LocalBackup.load(finalDirectory)
            }
            logger.info("backup created", metadata: [
                "duckling.backup": .string(backupID), "duckling.bytes": .stringConvertible(size),
                "duckling.duration_ms": .stringConvertible(Int64((ContinuousClock.now - started).milliseconds)),
            ])
            guard let backup else {
                throw BackupError(.io, "the backup \(backupID) was written but cannot be read back")
            }
            return backup
        } catch {
            await removeTemporary(staging)
            throw Self.classify(error, doing: "backup of '\(id)'")
        }
    }
}

extension BackupService {
    /// CHECKPOINT with sync writes paused. DuckDB refuses while a write transaction that committed
    /// moments ago is still visible to queries that started before it; those finish quickly, so
    /// the checkpoint is retried for a while (queries go on meanwhile) instead of failing the backup.
    static func checkpoint(_ writer: SerializedConnection, patience: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + patience
        while true {
            do {
                try await writer.run { try $0.execute("CHECKPOINT") }
                return
            } catch let error as DuckDBError where error.message.contains("Cannot CHECKPOINT") && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }
}

extension FileDescriptor {
    func withClose<T>(_ body: (FileDescriptor) throws -> T) rethrows -> T {
        defer { close() }
        return try body(self)
    }
}
