import ArgumentParser
import DucklingCore
import Foundation

/// `duckling lake …`: the configured lake's tables, snapshots and maintenance, without the server.
/// A lake whose catalog is a local file is held by a running server (use the API then); a
/// PostgreSQL catalog can be used from here while servers run.
struct LakeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lake",
        abstract: "List the lake's tables and snapshots, or run its maintenance.",
        subcommands: [Tables.self, Snapshots.self, Maintenance.self])

    struct Tables: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every lake table with its columns, rows, snapshot and files.")
        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            try await LakeCommand.with(options) { lake in try AutomationCommandOutput.json(try await lake.tables()) }
        }
    }

    struct Snapshots: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The snapshots that changed a table.")
        @Argument(help: "The table.") var name: String
        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            try await LakeCommand.with(options) { lake in try AutomationCommandOutput.json(try await lake.snapshots(of: name)) }
        }
    }

    struct Maintenance: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Flush inlined rows, merge small files, expire old snapshots and delete unneeded files, for one table or all.")
        @Argument(help: "The table (default: every table).") var name: String?
        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            try await LakeCommand.with(options) { lake in try AutomationCommandOutput.json(try await lake.maintain(name)) }
        }
    }

    /// Opens the configured lake, prints what `body` returns, and closes it; a failure is printed and exits 1.
    static func with(_ options: ConfigurationOptions, _ body: (Lake) async throws -> String) async throws {
        let logger = bootstrapLogging(defaultLevel: .warning)
        let configuration = try options.load()
        guard configuration.lake.enabled else {
            printError("error: the lake is disabled (lake.enabled: false)")
            throw ExitCode(1)
        }
        let lake = Lake(settings: configuration.lake, engine: configuration.engine, memory: MemoryBudget(configuration: configuration),
                        readers: 2, logger: logger)
        do {
            let output = try await body(lake)
            await lake.close()
            print(output)
        } catch let error as LakeError {
            await lake.close()
            printError("error: \(error.message)")
            if error.message.contains("Could not set lock") {
                printError("hint: a running server holds the lake's catalog file; use its API (/tables), or keep the catalog in PostgreSQL to share the lake")
            }
            throw ExitCode(1)
        } catch {
            await lake.close()
            throw error
        }
    }
}
