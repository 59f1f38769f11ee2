import Foundation
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
    var createdAt: Date { BackupNaming.date(in: name, database: manifest.databaseID) ?? manifest.createdAt }
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
    /// This database's complete local backups (with a readable manifest), newest first.
    func localBackups() -> [LocalBackup] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: localRoot.path)) ?? []
        return names.filter { BackupNaming.isBackup($0, of: database.id) }
            .compactMap { LocalBackup.load(localRoot.appendingPathComponent($0)) }
            .filter { $0.manifest.databaseID == database.id }
            .sorted { $0.createdAt > $1.createdAt }
    }

    /// Removes what killed backups left: hidden temporary directories of this database.
    func removeUnfinishedLocalBackups() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: localRoot.path)) ?? []
        for name in names where FileCopy.isTemporary(name) && name.hasPrefix("." + BackupNaming.prefix(database: database.id)) {
            try? FileManager.default.removeItem(at: localRoot.appendingPathComponent(name))
            logger.info("removed an unfinished backup", metadata: ["duckling.backup": .string(name)])
        }
    }
}
