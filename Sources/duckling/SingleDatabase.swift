import ArgumentParser
import DucklingCore
import DucklingHTTP
import Logging

/// One configured database opened read-write for a command that works without the server
/// (`sync`, `backup`), with the sync engine that owns its datasets.
struct SingleDatabase {
    let settings: DatabaseSettings
    let configuration: DucklingConfiguration
    let registry: DatabaseRegistry
    let managed: ManagedDatabase
    let sync: SyncEngine
    /// The server's lineage store, when this command could open it: the runs it makes are recorded
    /// (and queued for forwarding) as the server's are.
    let lineage: LineageStore?

    var reporter: JobReporter { sync.reporter }

    /// Loads the configuration, checks `check` on the database's settings, and opens it; problems
    /// are printed and end the command with exit code 1.
    static func open(_ id: String, options: ConfigurationOptions, logger: Logger,
                     check: (DatabaseSettings) throws -> Void = { _ in }) async throws -> SingleDatabase {
        var configuration = try options.load()
        guard let database = configuration.database(id) else {
            printError("error: no database '\(id)' in the configuration")
            throw ExitCode(1)
        }
        try check(database)
        configuration.databases = [database]
        let registry = DatabaseRegistry(configuration: configuration, logger: logger)
        do {
            try await registry.openAll()
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        guard let managed = registry.database(id) else { throw ExitCode(1) }
        var lineage: LineageService?
        do {
            let opened = try LineageService.make(configuration: configuration, bus: nil, version: DucklingVersion.current, forwards: false, logger: logger)
            do {
                try await opened.open()
                lineage = opened
            } catch {
                await opened.store.close()
                throw error
            }
        } catch {
            printError("warning: the lineage store cannot be opened, so this run's lineage is not recorded: \(error)")
        }
        let reporter = JobReporter(lineage: lineage, bus: nil, namespace: configuration.lineage.namespace,
                                   redactor: SecretRedactor(configuration: configuration), logger: logger)
        return SingleDatabase(settings: database, configuration: configuration, registry: registry, managed: managed,
                              sync: SyncEngine(database: managed, engine: configuration.engine, reporter: reporter, logger: logger),
                              lineage: lineage?.store)
    }

    /// Closes the sync engine's source instance, the database (checkpointed, released) and the lineage store.
    func close() async {
        await sync.close()
        await registry.closeAll()
        await lineage?.close()
    }

    /// Runs `body` with the database open and closes it afterwards, whether `body` succeeded or not.
    func use<T>(_ body: (SingleDatabase) async throws -> T) async throws -> T {
        do {
            let value = try await body(self)
            await close()
            return value
        } catch {
            await close()
            throw error
        }
    }
}
