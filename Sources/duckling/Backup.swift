import ArgumentParser
import DucklingCore
import Foundation
import Logging
import ObjectStorage

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list, verify and restore backups without the server (not while a server holds the database).",
        subcommands: [Create.self, List.self, Verify.self, Restore.self])

    struct Common: ParsableArguments {
        @Option(help: "The configured database.")
        var db: String = "default"

        @OptionGroup var options: ConfigurationOptions

        /// Opens the one database and its backup service; `body` runs with them, then the database closes.
        func withService<T>(_ body: (BackupService) async throws -> T) async throws -> T {
            let logger = bootstrapLogging(defaultLevel: .warning)
            let opened = try await SingleDatabase.open(db, options: options, logger: logger)
            return try await opened.use { opened in
                do {
                    let service = try BackupService(database: opened.managed, sync: opened.sync, httpClient: S3Store.sharedClient,
                                                    reporter: opened.reporter, logger: logger)
                    return try await body(service)
                } catch let error as BackupError {
                    printError("error: \(error.message)")
                    throw ExitCode(1)
                }
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take a verified local snapshot, and upload it to S3 when configured.")

        @Flag(help: "Only the local snapshot, even when S3 is configured.")
        var localOnly = false

        @OptionGroup var common: Common

        func run() async throws {
            try await common.withService { service in
                let display = BackupProgressDisplay()
                let localOnly = localOnly
                let (manifest, key) = try await display.whileRunning { progress in
                    localOnly || !service.hasS3 ? (try await service.createLocal(progress: progress), nil) : try await service.backup(progress: progress)
                }
                print("created \(manifest.backupID) (\(DiskSize.text(manifest.size)), \(manifest.tables.count) tables, verified)")
                if let key { print("uploaded to S3 as \(key)") }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List local and S3 backups, newest first.")

        @OptionGroup var common: Common

        func run() async throws {
            try await common.withService { service in
                let (backups, s3Error) = try await service.list()
                let formatter = ISO8601DateFormatter()
                for backup in backups {
                    print([backup.location.rawValue, backup.key, DiskSize.text(backup.size), formatter.string(from: backup.createdAt),
                           backup.verified ? "verified" : "NOT verified"].joined(separator: "\t"))
                }
                if backups.isEmpty { print("no backups") }
                if let s3Error { printError("warning: S3 backups could not be listed: \(s3Error)") }
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-check local backups (or one, or an S3 backup) against their manifests.")

        @Option(help: "A local backup's name (default: all local backups).")
        var name: String?

        @Option(name: .customLong("from-s3"), help: "Verify this S3 object key instead (downloaded and decrypted, not restored).")
        var s3Key: String?

        @OptionGroup var common: Common

        func run() async throws {
            try await common.withService { service in
                let results = try await service.verify(name: name, s3Key: s3Key)
                for result in results {
                    print("\(result.location.rawValue)\t\(result.name)\t\(result.verified ? "ok" : "FAILED: \(result.error ?? "")")")
                }
                if results.isEmpty { print("no backups to verify") }
                if !results.allSatisfy(\.verified) { throw ExitCode(1) }
            }
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Replace the database with a verified backup (the latest local one by default).")

        @Option(help: "A local backup's name.")
        var name: String?

        @Option(name: .customLong("from-s3"), help: "Restore this S3 object key.")
        var s3Key: String?

        @OptionGroup var common: Common

        func validate() throws {
            if name != nil && s3Key != nil { throw ValidationError("give --name or --from-s3, not both") }
        }

        func run() async throws {
            let source: RestoreSource = if let s3Key { .s3(key: s3Key) } else if let name { .local(name: name) } else { .latestLocal }
            try await common.withService { service in
                let manifest = try await BackupProgressDisplay().whileRunning { progress in
                    try await service.restore(from: source, progress: progress)
                }
                print("restored \(manifest.backupID) (\(manifest.tables.count) tables, taken \(ISO8601DateFormatter().string(from: manifest.createdAt)))")
            }
        }
    }
}

enum DiskSize {
    static func text(_ bytes: Int64) -> String {
        bytes >= 1 << 30 ? String(format: "%.2f GB", Double(bytes) / Double(1 << 30)) : String(format: "%.1f MB", Double(bytes) / 1_048_576)
    }
}
