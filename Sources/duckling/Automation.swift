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
            let status = try await SingleDatabase.withAutomation(db, options: options) { $0.status() }
            print(try AutomationCommandOutput.json(status))
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
        let report = try await SingleDatabase.withAutomation(db, options: options) { try await $0.cleanupNow() }
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
    /// Opens database `id` and runs `body` with its automation, its records loaded (with backups
    /// when they are configured and usable); the database is closed afterwards.
    static func withAutomation<T: Sendable>(
        _ id: String, options: ConfigurationOptions, _ body: (AutomationService) async throws -> T
    ) async throws -> T {
        let logger = bootstrapLogging(defaultLevel: .warning)
        let opened = try await open(id, options: options, logger: logger)
        return try await opened.use { opened in
            let backups: BackupService?
            do {
                backups = try BackupService(database: opened.managed, sync: opened.sync,
                                            httpClient: opened.settings.backup.s3 == nil ? nil : S3Store.sharedClient, reporter: opened.reporter, logger: logger)
            } catch {
                printError("warning: backups are not usable, so cleanup does not rotate them: \(error)")
                backups = nil
            }
            let automation = AutomationService(database: opened.managed, sync: opened.sync, backups: backups,
                                               engine: opened.configuration.engine, logger: logger)
            try await opened.sync.ensurePrepared()
            try await automation.loadRecordsNow()
            return try await body(automation)
        }
    }
}
