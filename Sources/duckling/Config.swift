import ArgumentParser
import DucklingCore

struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with the configuration.",
        subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the configuration and print it with secrets masked; exit non-zero on any problem.")

        @OptionGroup var options: ConfigurationOptions

        func run() throws {
            let configuration = try options.load()
            print(ConfigurationSummary(configuration).text)
        }
    }
}
