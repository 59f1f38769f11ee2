import Foundation

/// Names of backups: `backup-{db}-{timestamp}` with a UTC timestamp that sorts in time order.
enum BackupNaming {
    static let manifestFile = "manifest.json"
    static let verificationFile = "verification.json"
    static let s3ManifestSuffix = ".manifest.json"

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

    /// The time in a backup name or object key (`…/backup-{db}-{timestamp}[.db[.enc]]`), to the
    /// millisecond; S3's own LastModified has only seconds.
    static func date(in key: String, database: String) -> Date? {
        let name = (key as NSString).lastPathComponent
        let prefix = prefix(database: database)
        guard name.hasPrefix(prefix) else { return nil }
        return formatter.date(from: String(name.dropFirst(prefix.count).prefix(24)))
    }

    static func prefix(database: String) -> String {
        "backup-\(database)-"
    }

    static func databaseFile(database: String) -> String {
        "duckling-\(database).db"
    }

    /// Whether `name` is a backup name of `database`: the prefix and then a timestamp.
    static func isBackup(_ name: String, of database: String) -> Bool {
        let prefix = prefix(database: database)
        guard name.hasPrefix(prefix) else { return false }
        let rest = name.dropFirst(prefix.count)
        return rest.count == 24 && rest.allSatisfy { $0.isNumber || "-T.Z".contains($0) }
    }
}
