import ArgumentParser
import DucklingCore
import DucklingHTTP
import Hummingbird
import HummingbirdCore
import Logging

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the configured databases over HTTP.")

    @OptionGroup var options: ConfigurationOptions

    @Option(help: "Port to listen on (default: 3001).")
    var port: Int?

    @Option(help: "Address to listen on (default: 127.0.0.1).")
    var host: String?

    func run() async throws {
        let logger = bootstrapLogging()
        let configuration = try options.load(host: host, port: port)
        let key: APIKeyStore.Resolved
        do {
            key = try APIKeyStore.resolve(configuration)
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        if let file = key.file {
            logger.notice(key.generated ? "generated an admin API key" : "using the admin API key stored on disk",
                          metadata: ["duckling.key_file": .string(file)])
        }
        let transport: HTTPServerBuilder
        do {
            transport = try ServerTransport.builder(for: configuration.server)
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        if configuration.server.tls == nil && !configuration.server.listensOnLoopbackOnly {
            logger.warning("serving plain HTTP on a non-loopback address: API keys and results travel in clear text; set server.tls (certificate, private_key) or put a TLS proxy in front", metadata: [
                "duckling.host": .string(configuration.server.host),
            ])
        }
        let services = DucklingServices(configuration: configuration, adminKey: key.key, logger: logger)
        do {
            try await services.openAll()
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        let app = buildApplication(services, server: transport)
        logger.notice("serving", metadata: [
            "duckling.address": .string(configuration.server.displayAddress),
            "duckling.databases": .string(configuration.databases.map(\.id).joined(separator: ",")),
        ])
        try await app.runService()
        // Every database is checkpointed and released before the process exits.
        await services.closeAll()
        logger.notice("stopped")
    }
}
