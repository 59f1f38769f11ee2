import ArgumentParser
import DucklingCore
import Foundation
import Logging
import ObjectStorage

struct Automation: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what the automation of a database last did and will do next.",
        subcommands: [Status.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The automation status of a database, read from its file (not while a server holds it).")

        @Option(help: "The configured database.")
        var db: String = "default"

        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            let logger = bootstrapLogging(defaultLevel: .warning)
            let opened = try await SingleDatabase.open(db, options: options, logger: logger)
            let text = try await opened.use { opened in
                let automation = try await opened.automation(logger: logger)
                return try AutomationCommandOutput.json(automation.status())
            }
            print(text)
        }
    }
}

struct CleanupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cleanup",
        abstract: "Clean up a database now (checkpoint, backup rotation, old logs, leftovers, space reclamation), without the server.")

    @Option(help: "The configured database.")
    var db: String = "default"

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let logger = bootstrapLogging(defaultLevel: .warning)
        let opened = try await SingleDatabase.open(db, options: options, logger: logger)
        let report = try await opened.use { opened in
            let automation = try await opened.automation(logger: logger)
            return try await automation.cleanupNow()
        }
        print(try AutomationCommandOutput.json(report))
        if !report.warnings.isEmpty { throw ExitCode(1) }
    }
}

enum AutomationCommandOutput {
    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

extension SingleDatabase {
    /// The database's automation, its records loaded (backups when they are configured).
    func automation(logger: Logger) async throws -> AutomationService {
        let backups = try? BackupService(database: managed, sync: sync, httpClient: settings.backup.s3 == nil ? nil : S3Store.sharedClient, logger: logger)
        let automation = AutomationService(database: managed, sync: sync, backups: backups, engine: configuration.engine, logger: logger)
        try await sync.ensurePrepared()
        try await automation.loadRecordsNow()
        return automation
    }
}
