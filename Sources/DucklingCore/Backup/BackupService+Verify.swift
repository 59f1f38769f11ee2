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
        if let s3Key {
            return try await exclusively("verification") {
                let staging = FileCopy.temporaryURL(beside: localRoot.appendingPathComponent("verify-\(database.id)"))
                defer { try? FileManager.default.removeItem(at: staging) }
                do {
                    _ = try await stage(.s3(key: s3Key), in: staging, progress: nil)
                    return [BackupVerification(name: (s3Key as NSString).lastPathComponent, location: .s3, verified: true, error: nil)]
                } catch let error as BackupError where error.kind != .notFound && error.kind != .configuration && error.kind != .noSpace {
                    return [BackupVerification(name: (s3Key as NSString).lastPathComponent, location: .s3, verified: false, error: error.message)]
                }
            }
        }
        var backups = localBackups()
        if let name {
            backups = backups.filter { $0.name == name }
            guard !backups.isEmpty else { throw BackupError(.notFound, "no complete local backup named '\(name)'") }
        }
        var results: [BackupVerification] = []
        for backup in backups {
            let outcome: String? = await {
                do {
                    let hasher = SHA256Hasher()
                    try await hasher.update(file: backup.file)
                    guard hasher.hexDigest() == backup.manifest.sha256 else { return "the file fails its SHA-256 checksum" }
                    let contents = try await BlockingIO.run { try DatabaseContents.read(file: backup.file.path) }
                    return contents.mismatch(with: backup.manifest)
                } catch {
                    return String(describing: error)
                }
            }()
            try? backup.recordVerification(.init(verifiedAt: Date(), ok: outcome == nil, error: outcome))
            results.append(BackupVerification(name: backup.name, location: .local, verified: outcome == nil, error: outcome))
        }
        return results
    }
}
