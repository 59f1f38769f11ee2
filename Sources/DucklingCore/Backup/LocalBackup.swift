public import Foundation
import Logging
import ObjectStorage

/// A complete local backup: a directory `backup-{db}-{timestamp}` holding the database copy and its manifest.
struct LocalBackup: Sendable {
    let directory: URL
    let manifest: BackupManifest
    /// The outcome of the latest re-verification, when one was run.
    let lastVerification: Verification?

    struct Verification: Codable, Sendable {
        let verifiedAt: Date
        let ok: Bool
        let error: String?

        enum CodingKeys: String, CodingKey {
            case ok, error
            case verifiedAt = "verified_at"
        }
    }

    var name: String { directory.lastPathComponent }
    /// When it was taken, to the millisecond (from its name; the manifest's time has seconds).
    var createdAt: Date { BackupNaming.date(ofBackup: name, database: manifest.databaseID) ?? manifest.createdAt }
    var file: URL { directory.appendingPathComponent(manifest.file) }
    /// Verified when written, and not found damaged since.
    var verified: Bool { manifest.verifiedAt != nil && lastVerification?.ok != false }

    static func load(_ directory: URL) -> LocalBackup? {
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(BackupNaming.manifestFile).path),
              let manifest = try? BackupManifest.decode(data, from: directory.path) else { return nil }
        let verification = FileManager.default.contents(atPath: directory.appendingPathComponent(BackupNaming.verificationFile).path)
            .flatMap { try? JSONDecoder.iso8601.decode(Verification.self, from: $0) }
        return LocalBackup(directory: directory, manifest: manifest, lastVerification: verification)
    }

    func recordVerification(_ verification: Verification) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        try FileCopy.writeAtomically(try encoder.encode(verification), to: directory.appendingPathComponent(BackupNaming.verificationFile))
    }
}

extension JSONDecoder {
    static var iso8601: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

extension BackupService {
    /// This database's complete local backups (with a readable manifest naming this database),
    /// newest first. Reads the directory and every manifest on the blocking I/O threads.
    func localBackups() async throws -> [LocalBackup] {
        try await BlockingIO.run { [localRoot, id = database.id, path = database.settings.path] in
            try Failpoints.hitBlocking("backup.list", scope: path)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: localRoot.path)) ?? []
            return names.filter { BackupNaming.isBackup($0, of: id) }
                .compactMap { LocalBackup.load(localRoot.appendingPathComponent($0)) }
                .filter { $0.manifest.databaseID == id }
                .sorted { $0.createdAt > $1.createdAt }
        }
    }

    /// Removes what killed backups of this database left: its hidden temporary directories (and
    /// only its own: `.backup-a-b-…` is not an unfinished backup of `a`). Blocking.
    static func removeUnfinishedLocalBackups(in root: URL, database: String, logger: Logger) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        for name in names where BackupNaming.isUnfinished(name, of: database) {
            do {
                try FileManager.default.removeItem(at: root.appendingPathComponent(name))
                logger.info("removed an unfinished backup", metadata: ["duckling.backup": .string(name)])
            } catch {
                logger.warning("could not remove an unfinished backup", metadata: [
                    "duckling.backup": .string(name), "duckling.error": .string(String(describing: error)),
                ])
            }
        }
    }
}

extension BackupService {
    /// The size and time of the newest verified local backup, if there is one (for metrics).
    public func newestVerifiedLocal() async throws -> (bytes: Int64, createdAt: Date)? {
        try await localBackups().filter(\.verified).max { $0.createdAt < $1.createdAt }.map { ($0.manifest.size, $0.createdAt) }
    }
}
