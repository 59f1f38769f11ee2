import Foundation
import ObjectStorage

/// The outcome of re-checking one backup.
public struct BackupVerification: Sendable, Equatable {
    public let name: String
    public let location: BackupListing.Location
    public let verified: Bool
    public let error: String?
}

extension BackupService {
    /// Re-checks local backups (all, or the one named): the file's SHA-256 against the manifest, then
    /// opening it read-only and comparing row counts and watermarks. The outcome is recorded beside
    /// the backup, so a damaged one no longer counts as good for retention or `latest` restores.
    /// With `s3Key`, the S3 backup is downloaded, decrypted and verified the same way, without a restore.
    public func verify(name: String? = nil, s3Key: String? = nil) async throws -> [BackupVerification] {
        try await exclusively("verification") {
            if let s3Key { return [try await verifyRemote(s3Key)] }
            return try await verifyLocal(name: name)
        }
    }

    private func verifyRemote(_ key: String) async throws -> BackupVerification {
        // Named like an unfinished backup, so a crash's leftovers go with the next backup.
        let staging = FileCopy.temporaryURL(beside: localRoot.appendingPathComponent(BackupNaming.verificationStaging(database: database.id)))
        let name = (key as NSString).lastPathComponent
        do {
            _ = try await stage(.s3(key: key), in: staging, progress: nil)
            await removeTemporary(staging)
            return BackupVerification(name: name, location: .s3, verified: true, error: nil)
        } catch let error as BackupError where error.kind != .notFound && error.kind != .configuration && error.kind != .noSpace {
            await removeTemporary(staging)
            return BackupVerification(name: name, location: .s3, verified: false, error: error.message)
        } catch {
            await removeTemporary(staging)
            throw error
        }
    }

    private func verifyLocal(name: String?) async throws -> [BackupVerification] {
        var backups = try await localBackups()
        if let name {
            backups = backups.filter { $0.name == name }
            guard !backups.isEmpty else { throw BackupError(.notFound, "no complete local backup named '\(name)'") }
        }
        var results: [BackupVerification] = []
        for backup in backups {
            let outcome = await problem(with: backup)
            do {
                let verification = LocalBackup.Verification(verifiedAt: Date(), ok: outcome == nil, error: outcome)
                try await BlockingIO.run { try backup.recordVerification(verification) }
            } catch {
                logger.error("could not record a verification", metadata: [
                    "duckling.backup": .string(backup.name), "duckling.error": .string(String(describing: error)),
                ])
            }
            results.append(BackupVerification(name: backup.name, location: .local, verified: outcome == nil, error: outcome))
        }
        return results
    }

    /// What is wrong with a local backup now, or nil when it still matches its manifest.
    private func problem(with backup: LocalBackup) async -> String? {
        do {
            let hasher = SHA256Hasher()
            try await hasher.update(file: backup.file)
            guard hasher.hexDigest() == backup.manifest.sha256 else { return "the file fails its SHA-256 checksum" }
            let contents = try await BlockingIO.run { [memory = database.memory] in
                try DatabaseContents.read(file: backup.file.path, memoryLimit: memory.transientLimit)
            }
            return contents.mismatch(with: backup.manifest)
        } catch {
            return String(describing: error)
        }
    }
}
