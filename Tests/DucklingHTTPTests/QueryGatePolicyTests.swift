import DuckDBKit
@testable import DucklingCore
import DucklingTestSupport
import Foundation
import Testing

/// The read-only gate is deny-by-default for table functions, pragmas and the built-in views that
/// call them, whatever form a statement takes (DESIGN.md §6).
@Suite struct QueryGatePolicyTests {
    /// Rows read in-process, past the gate.
    private func engineRows(_ server: TestServer, _ sql: String) async throws -> [[DuckDBValue]] {
        let database = try #require(server.services.registry.database("default"))
        return try await database.withReader { connection in
            try await connection.run { try $0.query(sql).rows() }
        }
    }

    @Test func everyTableFunctionIsOnTheAllowListOrRefused() async throws {
        try await TestServer.run { server in
            let functions = try await engineRows(server, """
                SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type IN ('table', 'table_macro') ORDER BY 1
                """).compactMap { $0.first?.text }
            #expect(functions.count > 50)
            // Every name on the allow-list exists: a DuckDB upgrade that drops one shows here too.
            let missing = ReadOnlyGate.allowedTableFunctions.subtracting(functions.map { $0.lowercased() })
            #expect(missing.isEmpty, "allow-listed but unknown to DuckDB: \(missing.sorted())")
            var refused: [String] = []
            for function in functions where !ReadOnlyGate.allowedTableFunctions.contains(function.lowercased()) {
                let reply = try await server.query("SELECT * FROM \(SQL.quoted(function))()", key: .readOnly)
                #expect(reply.status == 403 && reply.errorCode == "function_not_allowed",
                        "\(function)() is neither allowed nor refused: \(reply.status) \(reply.text)")
                refused.append(function)
            }
            // What the review found: every one of them is refused.
            for dangerous in ["enable_logging", "checkpoint", "force_checkpoint", "enable_profiling", "truncate_duckdb_logs",
                              "duckdb_logs", "query", "query_table", "read_csv", "glob", "chunk_stream", "duckdb_secrets",
                              "duckdb_settings", "json_execute_serialized_sql", "enable_peg_parser"] {
                #expect(refused.contains(dangerous), "\(dangerous) is not refused")
            }
        }
    }

    @Test func pragmasAreRefusedAsStatements() async throws {
        try await TestServer.run { server in
            let pragmas = try await engineRows(server, "SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type = 'pragma'")
                .compactMap { $0.first?.text }
            #expect(!pragmas.isEmpty)
            for pragma in pragmas {
                let reply = try await server.query("PRAGMA \(pragma)", key: .readOnly)
                #expect(reply.status == 403 || reply.status == 400, "PRAGMA \(pragma) → \(reply.status) \(reply.text)")
                #expect(reply.errorCode == "read_only" || reply.errorCode == "invalid_sql", "PRAGMA \(pragma) → \(reply.text)")
            }
        }
    }

    @Test func engineStateStaysOutOfReachInEveryFormOfStatement() async throws {
        try await TestServer.run { server in
            let outside = server.dataDirectory + "/../logs-\(UUID().uuidString)"
            let attempts = [
                "SELECT * FROM enable_logging('QueryLog', storage := 'file', storage_path := '\(outside)')",
                "SELECT * FROM enable_logging('QueryLog')",
                "SELECT * FROM checkpoint()",
                "SELECT * FROM force_checkpoint()",
                "SELECT * FROM enable_profiling()",
                "SELECT * FROM truncate_duckdb_logs()",
                "SELECT * FROM CHECKPOINT()",
                "SELECT * FROM \"checkpoint\"()",
                "SELECT * FROM system.main.checkpoint()",
                "SELECT 1 WHERE EXISTS (SELECT * FROM checkpoint())",
                "WITH c AS (SELECT * FROM force_checkpoint()) SELECT * FROM c",
                "SELECT * FROM range(1) r, LATERAL (SELECT * FROM enable_logging('QueryLog'))",
                "SELECT (SELECT count(*) FROM duckdb_logs())",
                "SELECT list_transform([1], x -> (SELECT count(*) FROM checkpoint()))",
                "SUMMARIZE SELECT * FROM checkpoint()",
                "DESCRIBE SELECT * FROM enable_logging('QueryLog')",
                "SELECT * FROM query('SELECT * FROM checkpoint()')",
                "SELECT * FROM query_table('duckdb_logs')",
                "SELECT * FROM duckdb_logs",
                "FROM main.duckdb_logs",
                "SELECT * FROM pg_catalog.pg_prepared_statements",
                "SELECT write_log('hello')",
                "SELECT setseed(0.5)",
            ]
            for sql in attempts {
                let reply = try await server.query(sql, key: .readOnly)
                #expect(reply.status == 403, "\(sql) → \(reply.status) \(reply.text)")
                #expect(reply.errorCode == "function_not_allowed", "\(sql) → \(reply.text)")
            }
            // Nothing was enabled or written: logging is off, no file appeared, and the engine
            // still checkpoints and answers.
            #expect(try await engineRows(server, "SELECT count(*) FROM duckdb_logs()") == [[.bigint(0)]])
            #expect(!FileManager.default.fileExists(atPath: outside))
            let database = try #require(server.services.registry.database("default"))
            try await database.withWriter { writer in try await writer.run { try $0.execute("CHECKPOINT") } }
            #expect(try await server.query("SELECT 42 AS answer").status == 200)
        }
    }

    @Test func builtInViewsAreReadableUnlessTheyCallSomethingRefused() async throws {
        try await TestServer.run { server in
            let views = try await engineRows(server, "SELECT schema_name, view_name FROM duckdb_views() WHERE internal ORDER BY 1, 2")
            #expect(views.count > 30)
            var refused: Set<String> = []
            for view in views {
                guard let schema = view[0].text, let name = view[1].text else { continue }
                let reply = try await server.query("SELECT * FROM \(SQL.quoted(schema)).\(SQL.quoted(name)) LIMIT 0", key: .readOnly)
                if reply.status == 403 {
                    #expect(reply.errorCode == "function_not_allowed", "\(schema).\(name) → \(reply.text)")
                    refused.insert(name)
                } else {
                    #expect(reply.status == 200, "\(schema).\(name) → \(reply.status) \(reply.text)")
                }
            }
            // Views over engine state go with the functions they call; the catalog stays readable.
            #expect(refused.isSuperset(of: ["duckdb_logs", "pg_prepared_statements", "pg_settings"]), "\(refused.sorted())")
            #expect(refused.isDisjoint(with: ["duckdb_tables", "duckdb_columns", "tables", "columns", "pg_class", "sqlite_master"]), "\(refused.sorted())")
        }
    }

    @Test func filesAreNotReachableByNameWhereverTheNameIsSplit() async throws {
        try await TestServer.run { server in
            // A CSV where DuckDB would read it: the spill directory it lets such an instance read.
            let database = try #require(server.services.registry.database("default"))
            let spill = try #require(server.services.configuration.engine.tempDirectory) + "/" + database.id
            try FileManager.default.createDirectory(atPath: spill, withIntermediateDirectories: true)
            try "secret,value\nkey,hunter2\n".write(toFile: spill + "/leak.csv", atomically: true, encoding: .utf8)
            for sql in ["SELECT * FROM '/etc/passwd.csv'", "FROM 'data.parquet'", "DESCRIBE 's3://bucket/file.csv'",
                        "SELECT * FROM 'https://example.com/x.json'", "SELECT * FROM data.csv", "SELECT * FROM data.csv.gz",
                        "FROM \"\(spill)/leak\".csv", "FROM \"\(spill)/*\".csv", "DESCRIBE leak.csv", "SUMMARIZE leak.csv",
                        "SELECT * FROM \"\(database.settings.path)\".duckdb"] {
                let reply = try await server.query(sql, key: .readOnly)
                #expect(reply.status == 403 && reply.errorCode == "permission_denied", "\(sql) → \(reply.text)")
                // The gate's own refusal, not DuckDB's (which would name the file it tried).
                #expect(reply.text.contains("names a file or URL"), "\(sql) → \(reply.text)")
                #expect(!reply.text.contains("hunter2"))
            }
        }
    }

    @Test func showListsOnlyWhatIsAllowed() async throws {
        try await TestServer.run { server in
            for sql in ["SHOW TABLES", "SHOW ALL TABLES", "SHOW DATABASES", "SHOW", "DESCRIBE"] {
                let reply = try await server.query(sql, key: .readOnly)
                #expect(reply.status == 200, "\(sql) → \(reply.text)")
            }
            // SHOW variables answers from duckdb_variables(), which no tree shows.
            for sql in ["SHOW variables", "SELECT getvariable('anything')"] {
                let reply = try await server.query(sql, key: .readOnly)
                #expect(reply.status == 403 && reply.errorCode == "function_not_allowed", "\(sql) → \(reply.text)")
            }
        }
    }

    @Test func statementsTooDeepToCheckAreRefusedNotFailed() async throws {
        try await TestServer.run { server in
            let deep = "SELECT " + Array(repeating: "1", count: 400).joined(separator: " + ")
            let reply = try await server.query(deep)
            #expect(reply.status == 400 && reply.errorCode == "statement_too_complex", "\(reply.text.prefix(300))")
            // Constants DuckDB writes as Infinity in the tree are read, and answered.
            let infinite = try await server.query("SELECT 1e999 AS x")
            #expect(infinite.status == 200, "\(infinite.text)")
        }
    }

    @Test func duckdlingsOwnStreamIsUnreachableWhateverItsToken() async throws {
        try await TestServer.run { server in
            // A live stream, as a sync's loaders read it, with its real token.
            let database = try #require(server.services.registry.database("default"))
            let loader = try await database.withWriter { writer in try await writer.run { try $0.connectionID } }
            let stream = try ChunkStream(columns: [Column(name: "secret", type: .varchar)], readableBy: [loader])
            // Finished: a read that got past the checks would return (no rows) instead of failing.
            stream.finish()
            for sql in ["SELECT * FROM chunk_stream('\(stream.token)')", "SELECT * FROM query('SELECT * FROM chunk_stream(''\(stream.token)'')')",
                        "SELECT * FROM main.chunk_stream('\(stream.token)')"] {
                let reply = try await server.query(sql)
                #expect(reply.status == 403 && reply.errorCode == "function_not_allowed", "\(sql) → \(reply.text)")
            }
            // Past the gate too, another connection of the instance cannot read it.
            let direct = await #expect(throws: DuckDBError.self) {
                _ = try await database.withReader { connection in
                    try await connection.run { try $0.query("SELECT * FROM chunk_stream($1)", [.varchar(stream.token)]).rows() }
                }
            }
            #expect(direct?.message.contains("no such stream") == true)
            // The loader's own connection may read it.
            let own = try await database.withWriter { writer in
                try await writer.run { try $0.query("SELECT count(*) FROM chunk_stream($1)", [.varchar(stream.token)]).scalar() }
            }
            #expect(own == .bigint(0))
        }
    }

    @Test func readQueriesStillWorkInEveryForm() async throws {
        try await TestServer.run { server in
            for sql in ["SELECT * FROM range(3)", "FROM generate_series(1, 3)", "SELECT * FROM unnest([1, 2])", "SELECT * FROM duckdb_tables()",
                        "SELECT * FROM information_schema.tables", "SHOW TABLES", "SHOW ALL TABLES", "DESCRIBE SELECT 1 AS a",
                        "SUMMARIZE SELECT * FROM range(10)", "PIVOT (SELECT 1 AS a, 2 AS b) ON a IN (1) USING sum(b)",
                        "SELECT * FROM json_each('{\"a\": 1}')", "SELECT version()", "SELECT * FROM pragma_version()",
                        "SELECT current_setting('threads')", "SELECT * FROM (VALUES (1), (2)) t(x) WHERE x IN (SELECT * FROM range(5))"] {
                let reply = try await server.query(sql, key: .readOnly)
                #expect(reply.status == 200, "\(sql) → \(reply.status) \(reply.text)")
            }
        }
    }
}
