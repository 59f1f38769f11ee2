import ArgumentParser
import DucklingCore
import Foundation
import Logging

/// `--config` and `--data-dir`, shared by the commands that read the configuration.
struct ConfigurationOptions: ParsableArguments {
    @Option(name: .long, help: "The configuration file (default: $DUCKLING_CONFIG, else none).")
    var config: String?

    @Option(name: .customLong("data-dir"), help: "Where databases, backups and the generated API key live (default: ./data).")
    var dataDirectory: String?

    /// Loads the configuration, or prints every problem and exits non-zero.
    func load(host: String? = nil, port: Int? = nil) throws -> DucklingConfiguration {
        let loader = ConfigurationLoader()
        do {
            return try loader.load(
                file: loader.configurationFile(explicit: config),
                overrides: .init(host: host, port: port, dataDirectory: dataDirectory))
        } catch {
            printError(error.description)
            throw ExitCode(1)
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Logs to standard error at the level from `DUCKLING_LOG_LEVEL` (default `defaultLevel`).
func bootstrapLogging(defaultLevel: Logger.Level = .info) -> Logger {
    let level = ProcessInfo.processInfo.environment["DUCKLING_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? defaultLevel
    LoggingSystem.bootstrap { label in
        var handler = LazyMetadataLogHandler(StreamLogHandler.standardError(label: label))
        handler.logLevel = level
        return handler
    }
    return Logger(label: "duckling")
}
