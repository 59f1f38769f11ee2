public import Logging

/// The databases Duckling serves, by id; `default` is always there.
public final class DatabaseRegistry: Sendable {
    public let databases: [ManagedDatabase]

    public init(configuration: DucklingConfiguration, logger: Logger) {
        self.databases = configuration.databases.map {
            ManagedDatabase(settings: $0, engine: configuration.engine, query: configuration.query, logger: logger)
        }
    }

    /// Opens every database; the first failure is thrown (with the database it concerns).
    /// `readOnly` is for tools that read a file another process does not hold.
    public func openAll(readOnly: Bool = false) throws {
        for database in databases {
            do {
                try database.open(readOnly: readOnly)
            } catch {
                throw DatabaseOpenError(databaseID: database.id, path: database.settings.path, underlying: error)
            }
        }
    }

    public func closeAll() {
        for database in databases { database.close(reason: "shutting down") }
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
