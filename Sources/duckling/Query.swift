public import ArgumentParser
import DucklingCore
import Foundation
import Logging

struct Query: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one read-only query against a database file (not while a server holds it).")

    @Argument(help: "The SQL statement.")
    var sql: String

    @Option(help: "Output format: json, ndjson, csv, parquet or arrow.")
    var format: ResultFormat = .json

    @Option(help: "The configured database to query.")
    var db: String = "default"

    @Option(help: "A database file to query instead of a configured database.")
    var file: String?

    @Option(name: .customLong("timeout-ms"), help: "Time limit in milliseconds.")
    var timeoutMilliseconds: Int?

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        var configuration = try options.load()
        guard var database = configuration.database(db) else {
            printError("error: no database '\(db)' in the configuration")
            throw ExitCode(1)
        }
        if let file {
            database.path = ConfigurationLoader.absolute(file, base: FileManager.default.currentDirectoryPath, home: nil)
        }
        configuration.databases = [database]
        let logger = bootstrapLogging(defaultLevel: .warning)
        let registry = DatabaseRegistry(configuration: configuration, logger: logger)
        do {
            try await registry.openAll(readOnly: true)
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        let service = QueryService(registry: registry, settings: configuration.query, parquet: configuration.engine.parquet, logger: logger)
        do {
            let stream = try await service.start(
                QueryRequest(sql: sql, timeoutMilliseconds: timeoutMilliseconds), database: database.id, format: format)
            while let bytes = try await stream.next() {
                do {
                    try FileHandle.standardOutput.write(contentsOf: Data(bytes))
                } catch {
                    // The reader went away (`| head`): stop quietly, as a process killed by SIGPIPE would.
                    stream.cancel()
                    await registry.closeAll()
                    throw ExitCode(141)
                }
            }
            if format == .json { FileHandle.standardOutput.write(Data("\n".utf8)) }
        } catch let error as QueryError {
            await registry.closeAll()
            printError("error: \(error.code): \(error.message)")
            throw ExitCode(1)
        }
        await registry.closeAll()
    }
}

extension ResultFormat: ExpressibleByArgument {}
