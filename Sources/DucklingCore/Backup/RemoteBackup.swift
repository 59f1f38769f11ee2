import Foundation
import ObjectStorage

/// A complete S3 backup: its data object and the manifest object uploaded after it.
struct RemoteBackup: Sendable {
    let dataKey: String
    let size: Int64
    let createdAt: Date

    var manifestKey: String { dataKey + BackupNaming.s3ManifestSuffix }

    /// The backups of `database` among `objects` whose data object and manifest are both there,
    /// newest first (by the time in their names).
    static func complete(in objects: [ObjectInfo], database: String) -> [RemoteBackup] {
        let byKey = Dictionary(objects.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        return objects.compactMap { manifest -> RemoteBackup? in
            guard manifest.key.hasSuffix(BackupNaming.s3ManifestSuffix) else { return nil }
            let dataKey = String(manifest.key.dropLast(BackupNaming.s3ManifestSuffix.count))
            guard let data = byKey[dataKey] else { return nil }
            let created = BackupNaming.date(in: dataKey, database: database) ?? manifest.lastModified ?? data.lastModified ?? .distantPast
            return RemoteBackup(dataKey: dataKey, size: data.size, createdAt: created)
        }
        .sorted { $0.createdAt > $1.createdAt }
    }
}

extension BackupService {
    func remoteBackups() async throws -> [RemoteBackup] {
        guard let remote else { return [] }
        return RemoteBackup.complete(in: try await remote.store.list(prefix: ObjectKey.join(remote.prefix, BackupNaming.prefix(database: database.id))),
                                     database: database.id)
    }
}
