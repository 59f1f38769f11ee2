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

    /// Deletes expired local backups; returns their names.
    @discardableResult
    public func applyLocalRetention(now: Date = Date()) -> [String] {
        let doomed = Self.expired(localBackups(), createdAt: { $0.createdAt }, verified: { $0.verified },
                                  keepLast: settings.keepLast, retentionDays: settings.retentionDays, now: now)
        var removed: [String] = []
        for backup in doomed {
            do {
                // The manifest goes first: from then on the backup no longer exists for list or restore.
                try FileManager.default.removeItem(at: backup.directory.appendingPathComponent(BackupNaming.manifestFile))
                try FileManager.default.removeItem(at: backup.directory)
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

    /// Deletes expired S3 backups (manifest first, then the object) and objects that never got a
    /// manifest once they are a day old; returns the keys removed.
    @discardableResult
    public func applyS3Retention(now: Date = Date()) async throws -> [String] {
        guard let remote else { return [] }
        let objects = try await remote.store.list(prefix: ObjectKey.join(remote.prefix, BackupNaming.prefix(database: database.id)))
        let backups = RemoteBackup.complete(in: objects, database: database.id)
        let doomed = Self.expired(backups, createdAt: { $0.createdAt }, verified: { _ in true },
                                  keepLast: remote.keepLast, retentionDays: settings.retentionDays, now: now)
        var removed: [String] = []
        for backup in doomed {
            try await remote.store.delete(backup.manifestKey)
            try await remote.store.delete(backup.dataKey)
            removed.append(backup.dataKey)
        }
        let manifests = Set(objects.map(\.key).filter { $0.hasSuffix(BackupNaming.s3ManifestSuffix) })
        for object in objects where !object.key.hasSuffix(BackupNaming.s3ManifestSuffix)
            && !manifests.contains(object.key + BackupNaming.s3ManifestSuffix)
            && (object.lastModified.map { now.timeIntervalSince($0) > 86_400 } ?? false) {
            try await remote.store.delete(object.key)
            removed.append(object.key)
        }
        return removed
    }
}
