public import Logging
import ObjectStorage

/// The databases Duckling serves, by id; `default` is always there.
public final class DatabaseRegistry: Sendable {
    public let databases: [ManagedDatabase]
    /// The memory every DuckDB instance of the process shares (DESIGN.md §4).
    public let memory: MemoryBudget

    public init(configuration: DucklingConfiguration, logger: Logger) {
        let memory = MemoryBudget(configuration: configuration)
        self.memory = memory
        self.databases = configuration.databases.map {
            ManagedDatabase(settings: $0, engine: configuration.engine, query: configuration.query, memory: memory, logger: logger)
        }
    }

    /// Opens every database on the blocking I/O threads (an open may replay a long WAL); the first
    /// failure is thrown, with the database it concerns. `readOnly` is for tools that read a file
    /// another process does not hold.
    public func openAll(readOnly: Bool = false) async throws {
        for database in databases {
            do {
                try await BlockingIO.run { try database.open(readOnly: readOnly) }
            } catch {
                throw DatabaseOpenError(databaseID: database.id, path: database.settings.path, underlying: error)
            }
        }
    }

    /// Closes every database and waits until DuckDB has released their files (checkpointed).
    public func closeAll() async {
        for database in databases { await database.close(reason: "shutting down") }
    }

    public func database(_ id: String) -> ManagedDatabase? {
        databases.first { $0.id == id }
    }
}

/// A database file could not be opened.
public struct DatabaseOpenError: Error, CustomStringConvertible {
    public let databaseID: String
    public let path: String
    public let underlying: any Error

    public var description: String { "cannot open database '\(databaseID)' at \(path): \(underlying)" }
}
