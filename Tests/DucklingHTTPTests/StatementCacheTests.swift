import DucklingCore
import DucklingHTTP
import DucklingTestSupport
import Foundation
import Testing

/// Each read connection keeps checked statements by SQL text: a repeated query is parsed,
/// checked and planned once, yet answers for the database it names and the table as it is now.
@Suite struct StatementCacheTests {
    /// One read connection per database, so every repeat meets the statement kept before.
    static let yaml = """
        query: { max_concurrent: 1, statement_cache_size: 4 }
        databases:
          default: {}
          second: {}
        """

    static func write(_ server: TestServer, _ database: String, _ sql: String) async throws {
        let managed = try #require(server.services.registry.database(database))
        try await managed.withWriter { writer in try await writer.run { try $0.execute(sql) } }
    }

    static func cache(_ server: TestServer, _ database: String) async throws -> (hits: Int, misses: Int) {
        let snapshot = try #require(server.services.queries.statementCaches[database]?.snapshot)
        return (snapshot.hits, snapshot.misses)
    }

    static func columns(_ reply: TestServer.Reply) throws -> [String] {
        try (reply.json["columns"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
    }

    @Test func aKeptStatementAnswersForItsOwnDatabaseAndTheTableAsItIsNow() async throws {
        try await TestServer.run(yaml: Self.yaml) { server in
            try await Self.write(server, "default", "CREATE TABLE t AS SELECT 1 AS a")
            try await Self.write(server, "second", "CREATE TABLE t AS SELECT 'x' AS b, 2 AS c")
            let sql = "SELECT * FROM t"
            #expect(try Self.columns(try await server.query(sql)) == ["a"])
            #expect(try Self.columns(try await server.query(sql, db: "second")) == ["b", "c"])
            let before = try await Self.cache(server, "default")
            #expect(try Self.columns(try await server.query(sql)) == ["a"])
            #expect(try await Self.cache(server, "default").hits == before.hits + 1, "the repeat used the kept statement")
            #expect(try Self.columns(try await server.query(sql, db: "second")) == ["b", "c"], "nothing of default's reaches second")

            // The table changes shape under the kept statement: DuckDB binds it again.
            try await Self.write(server, "default", "ALTER TABLE t ADD COLUMN z VARCHAR DEFAULT 'new'")
            let widened = try await server.query(sql)
            #expect(try Self.columns(widened) == ["a", "z"])
            #expect(try widened.json["rows"] as? [[AnyHashable]] == [[1, "new"]])
            // Replaced by a table of other types, as a full sync's swap does.
            try await Self.write(server, "default", "DROP TABLE t; CREATE TABLE t AS SELECT 2.5::DOUBLE AS d, 'y' AS e")
            let replaced = try await server.query(sql)
            #expect(try Self.columns(replaced) == ["d", "e"])
            #expect(try replaced.json["rows"] as? [[AnyHashable]] == [[2.5, "y"]])
            // Gone: DuckDB's own error, and the text works again once the table is back.
            try await Self.write(server, "default", "DROP TABLE t")
            #expect(try await server.query(sql).status == 400)
            try await Self.write(server, "default", "CREATE TABLE t AS SELECT 7 AS back")
            #expect(try Self.columns(try await server.query(sql)) == ["back"])
            let after = try await Self.cache(server, "default")
            // Hits: the repeat, the widened table, the replaced one; the failed run dropped the statement,
            // so the re-created table's answer came from a fresh check.
            #expect(after.hits == before.hits + 3 && after.misses == before.misses + 1, "\(after)")
        }
    }

    @Test func aRefusedStatementIsNeverKept() async throws {
        try await TestServer.run(yaml: Self.yaml) { server in
            let refused = "SELECT * FROM read_csv('/etc/passwd')"
            let first = try await Self.cache(server, "default")
            for _ in 0..<3 {
                let reply = try await server.query(refused)
                #expect(reply.status == 403 && reply.errorCode == "function_not_allowed", "\(reply.text)")
            }
            let after = try await Self.cache(server, "default")
            #expect(after.hits == first.hits, "a refused text was answered from the cache")
            #expect(after.misses == first.misses + 3)
            // Invalid SQL neither.
            for _ in 0..<2 { #expect(try await server.query("SELEC 1").status == 400) }
            #expect(try await Self.cache(server, "default").hits == first.hits)
        }
    }

    @Test func theCacheKeepsAtMostItsSizeAndBindsParametersAfresh() async throws {
        try await TestServer.run(yaml: Self.yaml) { server in
            // Six texts through a cache of four: the first two are out, the last four in.
            for n in 1...6 { #expect(try await server.query("SELECT \(n) AS v").status == 200) }
            let before = try await Self.cache(server, "default")
            for n in 3...6 { #expect(try await server.query("SELECT \(n) AS v").status == 200) }
            #expect(try await Self.cache(server, "default").hits == before.hits + 4)
            #expect(try await server.query("SELECT 1 AS v").status == 200)
            #expect(try await Self.cache(server, "default").misses == before.misses + 1, "the least recently used text was dropped")
            // The same text with new parameters each time; named ones too.
            for value in [3, 11, 42] {
                let reply = try await server.query("SELECT $1::INTEGER * 2 AS twice", extra: ["params": [value]])
                #expect(try reply.json["rows"] as? [[Int]] == [[value * 2]])
            }
            let named = try await server.query("SELECT $x::VARCHAR AS x", extra: ["params": ["x": "duck"]])
            #expect(try named.json["rows"] as? [[String]] == [["duck"]])
            let beforeMissing = try await Self.cache(server, "default")
            let missing = try await server.query("SELECT $1::INTEGER * 2 AS twice")
            #expect(missing.status == 400 && missing.errorCode == "invalid_parameters", "a kept statement still wants its parameters: \(missing.text)")
            // The kept statement was used (not a fresh check), and dropped since it failed.
            #expect(try await Self.cache(server, "default").misses == beforeMissing.misses)
            _ = try await server.query("SELECT $1::INTEGER * 2 AS twice", extra: ["params": [1]])
            #expect(try await Self.cache(server, "default").misses == beforeMissing.misses + 1)
        }
    }
}
