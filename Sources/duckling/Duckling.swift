import ArgumentParser
import DucklingHTTP

@main
struct Duckling: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "duckling",
        abstract: "A DuckDB analytics server: sync, query, back up and restore DuckDB copies of your data.",
        version: "duckling \(DucklingVersion.current)",
        subcommands: [Serve.self, Sync.self, Query.self, Backup.self, Automation.self, CleanupCommand.self, LakeCommand.self, Config.self, Version.self],
        defaultSubcommand: nil)
}
