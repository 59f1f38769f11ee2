internal import CDuckDB
import Foundation
import Synchronization

/// One DuckDB instance: a database file (or memory) opened once, shared by all its connections.
///
/// DuckDB's database object is thread-safe: connections may be created from any thread, which is
/// what makes this class `Sendable` (its own state is behind a lock). The instance ends with
/// ``close()``, or when the last reference goes; DuckDB releases the file (checkpointing it) only
/// once every connection, statement and result is gone as well, which
/// ``waitUntilReleased(within:)`` waits for.
public final class Database: Sendable {
    /// The file path, or nil for an in-memory database.
    public let path: String?
    public let configuration: DatabaseConfiguration
    private let state: Mutex<State>
    private let releaseWaiters = EventWaiters()

    private struct State {
        var isReleased: Bool { handle == nil && openConnections == 0 && openStatements == 0 }

        /// The address of the `duckdb_database` handle, nil once closed (a plain integer, so the
        /// state is `Sendable`; only used under the lock).
        var handle: Int?
        var openConnections = 0
        /// Prepared statements, results and appenders not yet destroyed: each keeps DuckDB's client
        /// context, and with it the instance and its file, alive after its connection is closed.
        var openStatements = 0
    }

    /// Opens (or creates) the database at `path`, or an in-memory database when `path` is nil.
    public init(path: String?, configuration: DatabaseConfiguration = DatabaseConfiguration()) throws {
        _ = DuckDBAllocator.returnsFreedMemoryPromptly
        var config: duckdb_config?
        guard duckdb_create_config(&config) == DuckDBSuccess, config != nil else {
            throw DuckDBError(code: .openFailed, message: "could not allocate a DuckDB configuration")
        }
        defer { duckdb_destroy_config(&config) }
        for (name, value) in configuration.settings {
            guard duckdb_set_config(config, name, value) == DuckDBSuccess else {
                throw DuckDBError(code: .openFailed, message: "invalid DuckDB setting \(name)=\(value)")
            }
        }
        var database: duckdb_database?
        var error: UnsafeMutablePointer<CChar>?
        let state = duckdb_open_ext(path ?? ":memory:", &database, config, &error)
        guard state == DuckDBSuccess, let database else {
            let message = error.map { String(cString: $0) } ?? "duckdb_open_ext failed"
            if let error { duckdb_free(error) }
            if database != nil { duckdb_close(&database) }
            throw DuckDBError(code: .openFailed, message: message)
        }
        self.state = Mutex(State(handle: Int(bitPattern: database)))
        self.path = path
        self.configuration = configuration
        do {
            let setup = try Connection(database: self)
            defer { setup.close() }
            if let timeZone = configuration.timeZone {
                try setup.execute("SET GLOBAL TimeZone = \(SQL.literal(timeZone))")
            }
            if !Keywords.isLoaded {
                try Keywords.load(from: setup)
            }
        } catch {
            close()
            throw error
        }
    }

    deinit {
        close()
    }

    /// Closes the instance: no new connections can be made. DuckDB frees it, checkpointing and
    /// releasing the file, when its last connection closes too (at once if none is open).
    /// Closing twice changes nothing.
    public func close() {
        state.withLock { state in
            guard let address = state.handle else { return }
            var handle = duckdb_database(bitPattern: address)
            duckdb_close(&handle)
            state.handle = nil
        }
        resumeIfReleased()
    }

    /// Connections made and not yet closed.
    public var openConnectionCount: Int { state.withLock { $0.openConnections } }

    /// Statements, results and appenders not yet destroyed.
    public var openStatementCount: Int { state.withLock { $0.openStatements } }

    /// Waits until the instance is closed and every connection, statement and result of it is
    /// gone too (then DuckDB has released the file) and returns true, or returns false when `patience` runs out first.
    /// It waits for that event; it does not poll.
    public func waitUntilReleased(within patience: Duration) async -> Bool {
        await releaseWaiters.wait(within: patience) { [self] in state.withLock { $0.isReleased } }
    }

    /// Opens a new connection to this database.
    public func connect() throws -> Connection {
        try Connection(database: self)
    }

    /// Makes a DuckDB connection, counted until ``connectionClosed()``.
    func openConnection() throws -> duckdb_connection {
        try state.withLock { state in
            guard let address = state.handle, let handle = duckdb_database(bitPattern: address) else {
                throw DuckDBError(code: .connectFailed, message: "the database is closed")
            }
            var connection: duckdb_connection?
            guard duckdb_connect(handle, &connection) == DuckDBSuccess, let connection else {
                throw DuckDBError(code: .connectFailed, message: "duckdb_connect failed")
            }
            state.openConnections += 1
            return connection
        }
    }

    func connectionClosed() {
        state.withLock { $0.openConnections -= 1 }
        resumeIfReleased()
    }

    /// A statement, result or appender was made on a connection of this database.
    func statementOpened() {
        state.withLock { $0.openStatements += 1 }
    }

    func statementClosed() {
        state.withLock { $0.openStatements -= 1 }
        resumeIfReleased()
    }

    private func resumeIfReleased() {
        if state.withLock({ $0.isReleased }) { releaseWaiters.resumeAll() }
    }

    /// The DuckDB library version, e.g. "v1.5.5".
    public static var libraryVersion: String {
        String(cString: duckdb_library_version())
    }

    /// The directory holding the installed extensions, derived from where `libduckdb.so` was loaded
    /// (`PREFIX/lib/libduckdb.so` → `PREFIX/lib/duckdb/extensions`), or nil if it cannot be found.
    public static var installedExtensionDirectory: String? {
        // Force the library to be mapped, then find its path among this process's mappings.
        _ = libraryVersion
        // procfs files report size 0, so read to the end instead of by size.
        guard let file = FileHandle(forReadingAtPath: "/proc/self/maps"),
              let data = try? file.readToEnd() else { return nil }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            guard let start = line.firstIndex(of: "/") else { continue }
            let path = line[start...]
            if path.hasSuffix("/libduckdb.so"), let slash = path.lastIndex(of: "/") {
                return String(path[..<slash]) + "/duckdb/extensions"
            }
        }
        return nil
    }
}
