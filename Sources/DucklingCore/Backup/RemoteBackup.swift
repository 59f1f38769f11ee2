import Foundation
import ObjectStorage

/// A complete S3 backup: its data object and the manifest object uploaded after it.
struct RemoteBackup: Sendable {
    let dataKey: String
    let size: Int64
    let createdAt: Date

    var manifestKey: String { dataKey + BackupNaming.s3ManifestSuffix }

    /// The backups of `database` directly under `prefix` among `objects` whose data object and
    /// manifest are both there, newest first (by the time in their names). Objects of other
    /// databases whose names merely start alike (`a-b` for `a`) are not among them.
    static func complete(in objects: [ObjectInfo], prefix: String, database: String) -> [RemoteBackup] {
        let byKey = Dictionary(objects.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        return objects.compactMap { data -> RemoteBackup? in
            guard let name = BackupNaming.backupName(ofDataKey: data.key, prefix: prefix, database: database),
                  byKey[data.key + BackupNaming.s3ManifestSuffix] != nil,
                  let created = BackupNaming.date(ofBackup: name, database: database) else { return nil }
            return RemoteBackup(dataKey: data.key, size: data.size, createdAt: created)
        }
        .sorted { $0.createdAt > $1.createdAt }
    }
}

extension BackupService {
    /// This database's S3 objects: data objects and manifests of its backups, complete or not.
    func remoteObjects(_ remote: RemoteBackups) async throws -> [ObjectInfo] {
        try await remote.store.list(prefix: BackupNaming.listingPrefix(remote.prefix, database: database.id))
            .filter { BackupNaming.isObject($0.key, prefix: remote.prefix, of: database.id) }
    }

    func remoteBackups() async throws -> [RemoteBackup] {
        guard let remote else { return [] }
        return RemoteBackup.complete(in: try await remoteObjects(remote), prefix: remote.prefix, database: database.id)
    }
}

extension BackupService {
    /// Lists the database's S3 backups, throwing what S3 answered (for `/config/validate`, which
    /// checks the bucket and the credentials with it); nil when no S3 bucket is configured.
    public func listRemote() async throws -> Int? {
        guard remote != nil else { return nil }
        return try await remoteBackups().count
    }
}
