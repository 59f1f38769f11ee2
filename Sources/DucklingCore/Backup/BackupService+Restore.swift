import DuckDBKit
import Foundation
import Logging
import ObjectStorage

extension BackupService {
    /// Restores the database from a backup (DESIGN.md §7): fetch it into a staging directory beside
    /// the database, check its hash (and authentication when encrypted), verify it opens and holds
    /// what its manifest says, and only then swap it in, with syncing paused. Any refusal leaves the
    /// live database untouched. Returns the manifest of the restored backup.
    public func restore(from source: RestoreSource, progress: BackupProgressHandler? = nil) async throws -> BackupManifest {
        try await exclusively("restore") {
            try await reported(.restore, inputs: restoreInputs(source, manifest: nil), outputs: [databaseDataset], ending: { [self] manifest in
                .init(inputs: restoreInputs(source, manifest: manifest), outputs: [databaseDataset], bytes: manifest.size)
            }) {
                try await restoreAlone(from: source, progress: progress)
            }
        }
    }

    /// The backup a restore reads, as a lineage dataset (a restore of the latest local backup
    /// names it once its manifest is known).
    private func restoreInputs(_ source: RestoreSource, manifest: BackupManifest?) -> [LineageService.Dataset] {
        switch source {
        case .s3(let key):
            return [lineageDataset(s3Key: key, size: manifest?.size)]
        case .local(let name):
            let file = manifest?.file ?? BackupNaming.databaseFile(database: database.id)
            return [JobReporter.file(localRoot.appendingPathComponent(name).appendingPathComponent(file).path)]
        case .latestLocal:
            guard let manifest else { return [] }
            return [JobReporter.file(localRoot.appendingPathComponent(manifest.backupID).appendingPathComponent(manifest.file).path)]
        }
    }

    /// Stages the backup beside the database and swaps it in; the staging is removed either way.
    private func restoreAlone(from source: RestoreSource, progress: BackupProgressHandler?) async throws -> BackupManifest {
        let stagingName = URL(fileURLWithPath: database.settings.path + ".restore")
        await BlockingIO.runLogged(logger) { [logger] in try Self.removeUnfinishedRestores(named: stagingName, logger: logger) }
        let staging = FileCopy.temporaryURL(beside: stagingName)
        do {
            let manifest = try await restore(from: source, staging: staging, progress: progress)
            await removeTemporary(staging)
            return manifest
        } catch {
            await removeTemporary(staging)
            throw error
        }
    }

    /// Stages, checks and swaps in a backup, with syncing paused.
    private func restore(from source: RestoreSource, staging: URL, progress: BackupProgressHandler?) async throws -> BackupManifest {
        let (file, manifest) = try await stage(source, in: staging, progress: progress)
        let expected = manifest
        let swap = {
            try await self.database.replaceFile(with: file) { connection in
                if let problem = try DatabaseContents.read(on: connection).mismatch(with: expected) {
                    throw BackupError(.verification, "the reopened database does not match the backup: \(problem)")
                }
            }
        }
        do {
            if let sync {
                try await sync.withSyncPaused(reason: "database '\(database.id)' is being restored", swap)
            } else {
                try await swap()
            }
        } catch {
            throw Self.classify(error, doing: "restore of '\(database.id)'")
        }
        logger.notice("database restored", metadata: ["duckling.backup": .string(manifest.backupID)])
        return manifest
    }

    /// Removes staging directories a killed restore of this database left beside it (exactly its
    /// own: `.duckling-a.db.restore.partial-…`). Blocking.
    private static func removeUnfinishedRestores(named name: URL, logger: Logger) throws {
        let directory = name.deletingLastPathComponent()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for entry in names where FileCopy.target(ofTemporary: entry) == name.lastPathComponent {
            try FileManager.default.removeItem(at: directory.appendingPathComponent(entry))
            logger.info("removed an unfinished restore", metadata: ["duckling.path": .string(entry)])
        }
    }

    /// Fetches, checks and verifies a backup without touching the live database; returns the
    /// verified database file in `staging` and its manifest.
    func stage(_ source: RestoreSource, in staging: URL, progress: BackupProgressHandler?) async throws -> (URL, BackupManifest) {
        let what = "restore of '\(database.id)'"
        do {
            try await BlockingIO.run { try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true) }
            let file = staging.appendingPathComponent("restored.db")
            let manifest: BackupManifest
            switch source {
            case .latestLocal:
                guard let latest = try await localBackups().first(where: \.verified) else {
                    throw BackupError(.notFound, "database '\(database.id)' has no verified local backup in \(localRoot.path)")
                }
                manifest = try await stageLocal(latest, to: file, progress: progress)
            case .local(let name):
                guard BackupNaming.isBackup(name, of: database.id) else {
                    throw BackupError(.notFound, "'\(name)' is not a backup name of database '\(database.id)'")
                }
                guard let backup = try await BlockingIO.run({ [localRoot] in LocalBackup.load(localRoot.appendingPathComponent(name)) }) else {
                    throw BackupError(.notFound, "no complete local backup named '\(name)' (a backup without its manifest does not exist)")
                }
                manifest = try await stageLocal(backup, to: file, progress: progress)
            case .s3(let key):
                manifest = try await stageRemote(key, to: file, in: staging, progress: progress)
            }
            let version = try await BlockingIO.run { try DatabaseFileHeader.storageVersion(of: file) }
            try await checkStorageVersion(version)
            progress?(BackupProgress(phase: "verify", bytes: 0, total: manifest.size))
            let contents = try await BlockingIO.run { [memory = database.memory] in
                try DatabaseContents.read(file: file.path, memoryLimit: memory.transientLimit)
            }
            if let problem = contents.mismatch(with: manifest) {
                throw BackupError(.verification, "the backup \(manifest.backupID) does not match its manifest: \(problem)")
            }
            return (file, manifest)
        } catch {
            throw Self.classify(error, doing: what)
        }
    }

    private func checkStorageVersion(_ version: UInt64) async throws {
        let supported = try await DatabaseFileHeader.supportedVersion()
        guard version <= supported else {
            throw BackupError(.unsupported, "the backup was written with DuckDB storage version \(version), newer than this DuckDB (\(Database.libraryVersion)) reads (\(supported)); restore it with a newer Duckling")
        }
    }

    private func checkManifest(_ manifest: BackupManifest, from location: String) async throws {
        guard manifest.databaseID == database.id else {
            throw BackupError(.verification, "\(location) is a backup of database '\(manifest.databaseID)', not '\(database.id)'")
        }
        try await checkStorageVersion(manifest.storageVersion)
    }

    private func stageLocal(_ backup: LocalBackup, to file: URL, progress: BackupProgressHandler?) async throws -> BackupManifest {
        let manifest = backup.manifest
        try await checkManifest(manifest, from: backup.name)
        try await BlockingIO.run { try DiskSpace.require(manifest.size, at: file.deletingLastPathComponent(), for: "restoring \(backup.name)") }
        let hasher = SHA256Hasher()
        do {
            try await FileCopy.copy(from: backup.file, to: file, observe: { hasher.update($0) }) {
                progress?(BackupProgress(phase: "copy", bytes: $0, total: manifest.size))
            }
        } catch let error as ObjectStoreError where error.systemError == ENOENT {
            throw BackupError(.corrupt, "the backup \(backup.name) has a manifest but no database file")
        }
        try await checkDigest(of: file, hasher: hasher, against: manifest)
        return manifest
    }

    private func stageRemote(_ key: String, to file: URL, in staging: URL, progress: BackupProgressHandler?) async throws -> BackupManifest {
        guard let remote else {
            throw BackupError(.configuration, "database '\(database.id)' has no S3 backup configured (backup.s3.bucket_url)")
        }
        // Only this database's own backup objects: nothing about another database's is read or told.
        guard ObjectKey.isValid(key), BackupNaming.backupName(ofDataKey: key, prefix: remote.prefix, database: database.id) != nil else {
            throw BackupError(.notFound, "'\(key)' is not a backup object key of database '\(database.id)'")
        }
        let manifest: BackupManifest
        do {
            manifest = try BackupManifest.decode(try await remote.store.get(key + BackupNaming.s3ManifestSuffix), from: key)
        } catch let error as ObjectStoreError where error.kind == .notFound {
            throw BackupError(.notFound, "no manifest for \(key): the backup is incomplete or does not exist, and is not restored")
        }
        try await checkManifest(manifest, from: key)
        guard let object = manifest.object, object.key == key else {
            throw BackupError(.verification, "the manifest of \(key) describes another object")
        }
        guard let info = try await remote.store.head(key) else {
            throw BackupError(.notFound, "the backup object \(key) is missing")
        }
        guard info.size == object.size else {
            throw BackupError(.corrupt, "the backup object \(key) is \(info.size) bytes, its manifest says \(object.size): it is truncated or altered")
        }
        try await BlockingIO.run { try DiskSpace.require(object.size + manifest.size, at: staging, for: "restoring \(key)") }
        let downloaded = manifest.encryption == nil ? file : staging.appendingPathComponent("download.enc")
        try await remote.store.download(key, to: downloaded) { progress?(BackupProgress(phase: "download", bytes: $0, total: object.size)) }
        let hasher = SHA256Hasher()
        if let encryption = manifest.encryption {
            guard encryption.scheme == "client-aes256" else {
                throw BackupError(.unsupported, "the backup uses encryption '\(encryption.scheme)', which this Duckling does not know")
            }
            guard let keySource = remote.keySource else {
                throw BackupError(.configuration, "the backup \(key) is encrypted; configure DUCKLING_BACKUP_KEY (or the passphrase) to restore it")
            }
            try await BackupCipher(keySource: keySource, databaseID: manifest.databaseID, backupID: manifest.backupID)
                .decrypt(downloaded, to: file, observe: { hasher.update($0) }) {
                    progress?(BackupProgress(phase: "decrypt", bytes: $0, total: manifest.size))
                }
            await removeTemporary(downloaded)
        } else {
            try await hasher.update(file: file)
        }
        try await checkDigest(of: file, hasher: hasher, against: manifest)
        return manifest
    }

    private func checkDigest(of file: URL, hasher: SHA256Hasher, against manifest: BackupManifest) async throws {
        let digest = hasher.hexDigest()
        guard digest == manifest.sha256 else {
            throw BackupError(.corrupt, "the backup \(manifest.backupID) fails its checksum (SHA-256 \(digest.prefix(12))…, manifest \(manifest.sha256.prefix(12))…): it was altered or damaged")
        }
        let size = try await BlockingIO.run { try FileDescriptor.open(file.path, flags: O_RDONLY).withClose { try $0.size() } }
        guard size == manifest.size else {
            throw BackupError(.corrupt, "the backup \(manifest.backupID) is \(size) bytes, its manifest says \(manifest.size)")
        }
    }
}
