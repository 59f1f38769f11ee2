import Foundation
import ObjectStorage

extension BackupService {
    /// Takes a verified snapshot and uploads it to S3 (encrypted when configured), the manifest
    /// object last; a failed upload leaves neither a manifest nor a multipart upload behind.
    /// Returns the data object's key.
    public func uploadToS3(progress: BackupProgressHandler? = nil) async throws -> String {
        let remote = try requireRemote()
        return try await exclusively("backup") {
            try await reportedSnapshotAndUpload(to: remote, progress: progress).key
        }
    }

    /// Uploads the newest verified local backup as it is, without a new snapshot; returns the key.
    public func uploadLatestLocal(progress: BackupProgressHandler? = nil) async throws -> String {
        let remote = try requireRemote()
        return try await exclusively("backup") {
            guard let latest = try await localBackups().first(where: \.verified) else {
                throw BackupError(.notFound, "database '\(database.id)' has no verified local backup to upload")
            }
            return try await reported(.s3Backup, inputs: [lineageDataset(of: latest)], ending: { [self] (key: String) in
                .init(outputs: [lineageDataset(s3Key: key, size: latest.manifest.size)], bytes: latest.manifest.size)
            }) {
                try await upload(latest, to: remote, progress: progress)
            }
        }
    }

    /// Takes a local snapshot and, when S3 is configured, uploads it too (`POST /automation/backup`).
    public func backup(progress: BackupProgressHandler? = nil) async throws -> (local: BackupManifest, s3Key: String?) {
        guard let remote else { return (try await createLocal(progress: progress), nil) }
        return try await exclusively("backup") {
            let (local, key) = try await reportedSnapshotAndUpload(to: remote, progress: progress)
            return (local.manifest, key)
        }
    }

    private func requireRemote() throws -> RemoteBackups {
        guard let remote else {
            throw BackupError(.configuration, "database '\(database.id)' has no S3 backup configured (backup.s3.bucket_url)")
        }
        return remote
    }

    /// ``snapshotAndUpload(to:progress:)`` as one reported S3 backup: the database in, the local
    /// copy and the S3 object out.
    private func reportedSnapshotAndUpload(to remote: RemoteBackups, progress: BackupProgressHandler?) async throws -> (local: LocalBackup, key: String) {
        try await reported(.s3Backup, inputs: [databaseDataset], ending: { [self] (result: (local: LocalBackup, key: String)) in
            .init(outputs: [lineageDataset(of: result.local), lineageDataset(s3Key: result.key, size: result.local.manifest.size)],
                  bytes: result.local.manifest.size)
        }) {
            try await snapshotAndUpload(to: remote, progress: progress)
        }
    }

    /// Snapshot, local retention, upload, S3 retention. A retention failure is logged: the backup
    /// itself succeeded.
    private func snapshotAndUpload(to remote: RemoteBackups, progress: BackupProgressHandler?) async throws -> (local: LocalBackup, key: String) {
        let local = try await snapshot(progress: progress)
        await applyLocalRetentionLogged()
        let key = try await upload(local, to: remote, progress: progress)
        do {
            try await applyS3Retention()
        } catch {
            logger.warning("S3 retention failed", metadata: ["duckling.error": .string(String(describing: error))])
        }
        return (local, key)
    }

    private func upload(_ local: LocalBackup, to remote: RemoteBackups, progress: BackupProgressHandler?) async throws -> String {
        let store = remote.store
        let what = "upload of \(local.name) to \(store.location)"
        do {
            let (prefix, id) = (remote.prefix, database.id)
            let aborted = try await store.abortUnfinishedUploads(prefix: BackupNaming.listingPrefix(prefix, database: id)) {
                BackupNaming.isObject($0, prefix: prefix, of: id)
            }
            if aborted > 0 { logger.info("aborted unfinished S3 uploads", metadata: ["duckling.count": .stringConvertible(aborted)]) }
        } catch {
            logger.warning("could not list unfinished S3 uploads", metadata: ["duckling.error": .string(String(describing: error))])
        }
        var manifest = local.manifest
        let payload: URL
        let cleanup: URL?
        let key: String
        if let keySource = remote.keySource {
            key = ObjectKey.join(remote.prefix, "\(local.name).db.enc")
            let encrypted = FileCopy.temporaryURL(beside: local.directory.appendingPathComponent("upload.enc"))
            let total = local.manifest.size
            do {
                try await BlockingIO.run { try DiskSpace.require(total, at: local.directory, for: "encrypting \(local.name)") }
                _ = try await BackupCipher(keySource: keySource, databaseID: database.id, backupID: local.manifest.backupID)
                    .encrypt(local.file, to: encrypted) { progress?(BackupProgress(phase: "encrypt", bytes: min($0, total), total: total)) }
            } catch {
                await removeTemporary(encrypted)
                throw Self.classify(error, doing: what)
            }
            manifest.encryption = BackupCipher.manifestParameters(keySource: keySource)
            (payload, cleanup) = (encrypted, encrypted)
        } else {
            key = ObjectKey.join(remote.prefix, "\(local.name).db")
            (payload, cleanup) = (local.file, nil)
        }
        do {
            let size = try await BlockingIO.run { try FileDescriptor.open(payload.path, flags: O_RDONLY).withClose { try $0.size() } }
            manifest.object = .init(key: key, size: size)
            try await store.upload(file: payload, to: key) { progress?(BackupProgress(phase: "upload", bytes: $0, total: size)) }
            try await store.put(try manifest.encoded(), at: key + BackupNaming.s3ManifestSuffix)
            if let cleanup { await removeTemporary(cleanup) }
        } catch {
            if let cleanup { await removeTemporary(cleanup) }
            // Nothing half-done stays visible: the data object without its manifest is removed
            // (if this fails too, retention removes the orphan after a day).
            do {
                try await store.delete(key)
            } catch let cleanup {
                logger.warning("could not remove the object of a failed upload", metadata: [
                    "duckling.s3.key": .string(key), "duckling.error": .string(String(describing: cleanup)),
                ])
            }
            throw Self.classify(error, doing: what)
        }
        logger.info("backup uploaded", metadata: ["duckling.s3.key": .string(key), "duckling.backup": .string(local.name)])
        return key
    }
}
