import Foundation
import ObjectStorage

/// Names of backups: `backup-{db}-{timestamp}` with a UTC timestamp that sorts in time order.
///
/// Every match is exact, never by prefix: `backup-a-` also starts the names of database `a-b`,
/// whose backups retention, listing and cleanup of `a` must never touch.
enum BackupNaming {
    static let manifestFile = "manifest.json"
    static let verificationFile = "verification.json"
    static let s3ManifestSuffix = ".manifest.json"
    /// The S3 data object of a backup: plain, or encrypted.
    static let s3DataSuffixes = [".db.enc", ".db"]

    private static var formatter: DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 0)
        formatter.dateFormat = "yyyy-MM-dd'T'HH-mm-ss.SSS'Z'"
        return formatter
    }

    static func backupID(database: String, at date: Date) -> String {
        "backup-\(database)-\(formatter.string(from: date))"
    }

    /// The time in `name` to the millisecond, when `name` is exactly a backup name of `database`
    /// (`backup-{db}-{timestamp}`); S3's own LastModified has only seconds.
    static func date(ofBackup name: String, database: String) -> Date? {
        let prefix = "backup-\(database)-"
        guard name.hasPrefix(prefix) else { return nil }
        let stamp = String(name.dropFirst(prefix.count))
        let formatter = formatter
        guard stamp.count == 24, let date = formatter.date(from: stamp), formatter.string(from: date) == stamp else { return nil }
        return date
    }

    /// Whether `name` is exactly a backup name of `database`.
    static func isBackup(_ name: String, of database: String) -> Bool {
        date(ofBackup: name, database: database) != nil
    }

    /// The backup name of `key` when it is the data object of one of `database`'s backups directly
    /// under `prefix` (`prefix/backup-{db}-{timestamp}.db[.enc]`).
    static func backupName(ofDataKey key: String, prefix: String, database: String) -> String? {
        let start = prefix.isEmpty ? "" : prefix + "/"
        guard key.hasPrefix(start) else { return nil }
        let file = String(key.dropFirst(start.count))
        for suffix in s3DataSuffixes where file.hasSuffix(suffix) {
            let name = String(file.dropLast(suffix.count))
            if isBackup(name, of: database) { return name }
        }
        return nil
    }

    /// Whether `key` is one of `database`'s S3 objects under `prefix`: a data object or its manifest.
    static func isObject(_ key: String, prefix: String, of database: String) -> Bool {
        let data = key.hasSuffix(s3ManifestSuffix) ? String(key.dropLast(s3ManifestSuffix.count)) : key
        return backupName(ofDataKey: data, prefix: prefix, database: database) != nil
    }

    /// The key prefix every S3 object of `database` starts with (and others too: filter with ``isObject(_:prefix:of:)``).
    static func listingPrefix(_ prefix: String, database: String) -> String {
        ObjectKey.join(prefix, "backup-\(database)-")
    }

    /// The temporary directory name a verification of an S3 backup stages into (`backup-{db}-verify`).
    static func verificationStaging(database: String) -> String {
        "backup-\(database)-verify"
    }

    /// Whether `name` is what an unfinished local backup (or S3 verification) of `database` left:
    /// the hidden temporary form of one of its backup names, or of its verification staging.
    static func isUnfinished(_ name: String, of database: String) -> Bool {
        guard let target = FileCopy.target(ofTemporary: name) else { return false }
        return isBackup(target, of: database) || target == verificationStaging(database: database)
    }

    static func databaseFile(database: String) -> String {
        "duckling-\(database).db"
    }
}
