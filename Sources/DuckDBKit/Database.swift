internal import CDuckDB
import Foundation

/// One DuckDB instance: a database file (or memory) opened once, shared by all its connections.
///
/// DuckDB's database object is thread-safe: connections may be created from any thread, which is
/// what makes this class `Sendable`. The handle is closed when the last reference goes away; each
/// ``Connection`` keeps its database alive.
public final class Database: @unchecked Sendable {
    let handle: duckdb_database
    /// The file path, or nil for an in-memory database.
    public let path: String?
    public let configuration: DatabaseConfiguration

    /// Opens (or creates) the database at `path`, or an in-memory database when `path` is nil.
    public init(path: String?, configuration: DatabaseConfiguration = DatabaseConfiguration()) throws {
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
        self.handle = database
        self.path = path
        self.configuration = configuration
        let setup = try Connection(database: self)
        if let timeZone = configuration.timeZone {
            try setup.execute("SET GLOBAL TimeZone = \(SQL.literal(timeZone))")
        }
        if !Keywords.isLoaded {
            try Keywords.load(from: setup)
        }
    }

    deinit {
        var handle: duckdb_database? = self.handle
        duckdb_close(&handle)
    }

    /// Opens a new connection to this database.
    public func connect() throws -> Connection {
        try Connection(database: self)
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
