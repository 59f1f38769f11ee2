public import Foundation
import ObjectStorage

extension BackupService {
    /// Which of `backups` (newest first) retention removes: those older than `retentionDays`,
    /// except the newest `keepLast` verified ones, and never the newest verified one.
    static func expired<B>(_ backups: [B], createdAt: (B) -> Date, verified: (B) -> Bool,
                           keepLast: Int, retentionDays: Int, now: Date) -> [B] {
        let cutoff = now.addingTimeInterval(-Double(retentionDays) * 86_400)
        var keptVerified = 0
        var expired: [B] = []
        for backup in backups {
            if verified(backup) && keptVerified < max(1, keepLast) {
                keptVerified += 1
                continue
            }
            if createdAt(backup) < cutoff { expired.append(backup) }
        }
        return expired
    }

    /// Deletes expired local backups; returns their names. File work runs on the blocking I/O threads.
    @discardableResult
    public func applyLocalRetention(now: Date = Date()) async throws -> [String] {
        let doomed = Self.expired(try await localBackups(), createdAt: { $0.createdAt }, verified: { $0.verified },
                                  keepLast: settings.keepLast, retentionDays: settings.retentionDays, now: now)
        var removed: [String] = []
        for backup in doomed {
            do {
                try await BlockingIO.run {
                    // The manifest goes first: from then on the backup no longer exists for list or restore.
                    try FileManager.default.removeItem(at: backup.directory.appendingPathComponent(BackupNaming.manifestFile))
                    try FileManager.default.removeItem(at: backup.directory)
                }
                removed.append(backup.name)
            } catch {
                logger.warning("could not remove an expired backup", metadata: [
                    "duckling.backup": .string(backup.name), "duckling.error": .string(String(describing: error)),
                ])
            }
        }
        if !removed.isEmpty { logger.info("local backups expired", metadata: ["duckling.backups": .string(removed.joined(separator: ","))]) }
        return removed
    }

    /// Local retention whose failure is only worth a warning (the backup itself succeeded).
    func applyLocalRetentionLogged() async {
        do {
            try await applyLocalRetention()
        } catch {
            logger.warning("local retention failed", metadata: ["duckling.error": .string(String(describing: error))])
        }
    }

    /// Deletes this database's expired S3 backups (manifest first, then the object) and its
    /// objects that never got a manifest once they are a day old; returns the keys removed.
    /// Objects of other databases are never candidates, whatever their names start with.
    @discardableResult
    public func applyS3Retention(now: Date = Date()) async throws -> [String] {
        guard let remote else { return [] }
        let objects = try await remoteObjects(remote)
        let backups = RemoteBackup.complete(in: objects, prefix: remote.prefix, database: database.id)
        let doomed = Self.expired(backups, createdAt: { $0.createdAt }, verified: { _ in true },
                                  keepLast: remote.keepLast, retentionDays: settings.retentionDays, now: now)
        var removed: [String] = []
        for backup in doomed {
            try await remote.store.delete(backup.manifestKey)
            try await remote.store.delete(backup.dataKey)
            removed.append(backup.dataKey)
        }
        let keys = Set(objects.map(\.key))
        for object in objects where !object.key.hasSuffix(BackupNaming.s3ManifestSuffix)
            && !keys.contains(object.key + BackupNaming.s3ManifestSuffix)
            && (object.lastModified.map { now.timeIntervalSince($0) > 86_400 } ?? false) {
            try await remote.store.delete(object.key)
            removed.append(object.key)
        }
        return removed
    }
}
