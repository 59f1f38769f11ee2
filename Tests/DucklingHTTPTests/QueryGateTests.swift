import DuckDBKit
@testable import DucklingCore
import DucklingTestSupport
import Foundation
import Testing

/// Caller SQL reads data and nothing else; refused statements change nothing.
@Suite struct QueryGateTests {
    /// What the refused statements must not have changed, read in-process (past the gate, which
    /// refuses some of these functions to callers).
    private func fingerprint(_ server: TestServer) async throws -> String {
        let database = try #require(server.services.registry.database("default"))
        return try await database.withReader { connection in
            try await connection.run { duckdb in
                String(describing: try duckdb.query("""
                    SELECT
                      (SELECT count(*) FROM duckdb_tables() WHERE NOT internal),
                      (SELECT count(*) FROM duckdb_databases()),
                      (SELECT count(*) FROM duckdb_secrets()),
                      (SELECT count(*) FROM duckdb_settings() WHERE name = 's3_region'),
                      current_setting('threads'),
                      (SELECT count(*) FROM duckdb_sequences()),
                      (SELECT sum(i) FROM existing),
                      (SELECT count(*) FROM duckdb_logs())
                    """).rows())
            }
        }
    }

    @Test func refusedStatementsChangeNothing() async throws {
        try await TestServer.run { server in
            let database = try #require(server.services.registry.database("default"))
            try await database.withWriter { connection in
                try await connection.run {
                    try $0.execute("CREATE TABLE existing AS SELECT range AS i FROM range(10); CREATE SEQUENCE counter")
                }
            }
            let outside = server.dataDirectory + "/../outside.csv"
            let before = try await fingerprint(server)
            let cases: [(sql: String, status: Int, code: String)] = [
                ("SELECT * FROM read_csv('/etc/passwd')", 403, "function_not_allowed"),
                ("SELECT * FROM read_text('\(server.dataDirectory)/api-key')", 403, "function_not_allowed"),
                ("SELECT * FROM glob('/etc/*')", 403, "function_not_allowed"),
                ("SELECT * FROM '/etc/passwd.csv'", 403, "permission_denied"),
                ("COPY (SELECT 1) TO '\(outside)'", 403, "read_only"),
                ("ATTACH '/tmp/other-\(UUID().uuidString).db'", 403, "read_only"),
                ("INSTALL httpfs", 403, "read_only"),
                ("LOAD httpfs", 403, "read_only"),
                ("SET threads=1", 403, "read_only"),
                ("PRAGMA threads=1", 403, "read_only"),
                ("RESET threads", 403, "read_only"),
                ("CREATE TABLE t(i INT)", 403, "read_only"),
                ("INSERT INTO existing VALUES (99)", 403, "read_only"),
                ("UPDATE existing SET i = 0", 403, "read_only"),
                ("DELETE FROM existing", 403, "read_only"),
                ("WITH x AS (SELECT 1) INSERT INTO existing SELECT * FROM x", 403, "read_only"),
                ("CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')", 403, "read_only"),
                ("CALL checkpoint()", 403, "read_only"),
                ("SELECT nextval('counter')", 403, "function_not_allowed"),
                ("SELECT 1; DROP TABLE existing", 400, "multiple_statements"),
                ("SELECT 1; SELECT 2", 400, "multiple_statements"),
                ("SELEC 1", 400, "invalid_sql"),
                ("SELECT * FROM missing_table", 400, "invalid_sql"),
                ("", 400, "invalid_sql"),
            ]
            for (sql, status, code) in cases {
                let reply = try await server.query(sql)
                #expect(reply.status == status, "\(sql) → \(reply.status) \(reply.text)")
                #expect(reply.errorCode == code, "\(sql) → \(reply.text)")
                #expect(try reply.json["success"] as? Bool == false)
            }
            #expect(try await fingerprint(server) == before)
            #expect(!FileManager.default.fileExists(atPath: outside))
        }
    }

    @Test func invalidSQLReturnsDuckDBsMessage() async throws {
        try await TestServer.run { server in
            let reply = try await server.query("SELEC 1")
            #expect(reply.status == 400)
            let message = try #require((try reply.json["error"] as? [String: Any])?["message"] as? String)
            #expect(message.contains("Parser Error: syntax error at or near \"SELEC\""))
        }
    }

    @Test func readQueriesInEveryAllowedFormRun() async throws {
        try await TestServer.run { server in
            for sql in ["WITH t AS (SELECT 1 AS a) SELECT a FROM t", "FROM range(3)", "VALUES (1), (2)", "(SELECT 1)",
                        "DESCRIBE SELECT 1 AS a", "SHOW TABLES", "SUMMARIZE SELECT 1 AS a", "/* comment */ SELECT 1", "-- note\nSELECT 1;"] {
                let reply = try await server.query(sql)
                #expect(reply.status == 200, "\(sql) → \(reply.text)")
            }
        }
    }

    @Test func parametersBindPositionallyAndByName() async throws {
        try await TestServer.run { server in
            let positional = try await server.query("SELECT $1::INTEGER + $2 AS total, $3 AS greeting", extra: ["params": [40, 2, "hi"]])
            #expect(positional.status == 200, "\(positional.text)")
            #expect(try positional.json["rows"] as? [[String]] == [["42", "hi"]])
            let named = try await server.query("SELECT $name || '!' AS shout, $when::DATE + 1 AS next", extra: ["params": ["name": "duck", "when": "2024-02-28"]])
            #expect(named.status == 200, "\(named.text)")
            #expect(try named.json["rows"] as? [[String]] == [["duck!", "2024-02-29"]])
            let missing = try await server.query("SELECT $1, $2", extra: ["params": [1]])
            #expect(missing.status == 400)
            #expect(missing.errorCode == "invalid_parameters")
            let none = try await server.query("SELECT $1")
            #expect(none.status == 400)
            #expect(none.errorCode == "invalid_parameters")
        }
    }

    @Test func malformedBodiesAreClearErrors() async throws {
        try await TestServer.run { server in
            let notJSON = try await server.request(.POST, "/api/query", body: "sql=SELECT 1")
            #expect(notJSON.status == 400)
            #expect(notJSON.errorCode == "invalid_request")
            let noSQL = try await server.request(.POST, "/api/query", body: #"{"query":"SELECT 1"}"#)
            #expect(noSQL.status == 400)
            #expect(noSQL.text.contains("sql"))
            let wrongType = try await server.request(.POST, "/api/query", body: #"{"sql":"SELECT 1","timeout_ms":"soon"}"#)
            #expect(wrongType.status == 400)
        }
    }
}
