import DuckDBKit
import Foundation

/// An in-memory database with a connection, for tests that need nothing else.
func memoryConnection(_ configuration: DatabaseConfiguration = DatabaseConfiguration()) throws -> Connection {
    try Database(path: nil, configuration: configuration).connect()
}

/// A fresh temporary directory, removed by the caller.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("duckdbkit-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

extension Connection {
    /// The rows of `sql` as values.
    func values(_ sql: String, _ bindings: [DuckDBValue] = []) throws -> [[DuckDBValue]] {
        try query(sql, bindings).rows()
    }

    /// The single value `sql` returns.
    func single(_ sql: String, _ bindings: [DuckDBValue] = []) throws -> DuckDBValue? {
        try query(sql, bindings).scalar()
    }
}

/// The names of `test_all_types()`'s columns, in order.
func allTypeColumns(_ connection: Connection) throws -> [String] {
    try connection.values("SELECT column_name FROM (DESCRIBE SELECT * FROM test_all_types())").map {
        guard case .varchar(let name) = $0[0] else { return "" }
        return name
    }
}
