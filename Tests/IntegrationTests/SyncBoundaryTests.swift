import DuckDBKit
@testable import DucklingCore
import DucklingTestSupport
import Foundation
import Testing

/// The edges of a sync's reads: rows that share the capped run's last value, a cap met exactly,
/// and partition bounds at the ends of Int64.
@Suite(.serialized) struct SyncBoundaryTests {
    @Test func cappedRunsNeverSkipRowsThatShareTheBoundaryValue() async throws {
        let table = SyncFixture.uniqueName("tied")
        // One PostgreSQL transaction: every row has the same now().
        try TestEnvironment.psql("""
            CREATE TABLE \(table) (id int PRIMARY KEY, at timestamptz NOT NULL, note text);
            INSERT INTO \(table) SELECT g, now(), md5(g::text) FROM generate_series(1, 10000) g;
            """)
        defer { _ = try? TestEnvironment.psql("DROP TABLE \(table)") }
        let yaml = try SyncFixture.configuration(datasets: "tied: { source: pg, table: \(table), primary_key: [id], incremental_column: at, max_sync_rows: 3000 }")
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            var counts: [Int64] = []
            var truncated: [Bool] = []
            for _ in 0..<4 {
                let result = try await SyncFixture.sync(server, "tied")
                #expect(result["status"] as? String == "succeeded", "\(result)")
                truncated.append(result["truncated"] as? Bool ?? false)
                counts.append(try await SyncFixture.count(server, "tied"))
            }
            #expect(counts == [3000, 6000, 9000, 10000])
            #expect(truncated == [true, true, true, false])
            // Exactly the source's rows: none skipped, none twice.
            let exact = try await SyncFixture.copyRows(server, "SELECT count(DISTINCT id), min(id), max(id), count(*) FROM tied")
            #expect(exact == [[.bigint(10000), .integer(1), .integer(10000), .bigint(10000)]])
            let copy = try await SyncFixture.copyRows(server, "SELECT sum(hash(id, note))::VARCHAR FROM tied")
            let source = try SyncFixture.sourceRows("SELECT sum(hash(id, note))::VARCHAR FROM pg.public.\(table)")
            #expect(copy == source)
            // A fifth run finds nothing new.
            let fifth = try await SyncFixture.sync(server, "tied")
            #expect(fifth["rows_read"] as? Int == 0 && fifth["truncated"] as? Bool == false, "\(fifth)")
            #expect(try await SyncFixture.count(server, "tied") == 10000)
        }
    }

    @Test func aCapMetExactlyIsNotTruncated() async throws {
        let table = SyncFixture.uniqueName("exact")
        try TestEnvironment.psql("""
            CREATE TABLE \(table) (id int PRIMARY KEY, at timestamptz NOT NULL);
            INSERT INTO \(table) SELECT g, '2024-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, 3000) g;
            """)
        defer { _ = try? TestEnvironment.psql("DROP TABLE \(table)") }
        let yaml = try SyncFixture.configuration(datasets: "exact: { source: pg, table: \(table), primary_key: [id], incremental_column: at, max_sync_rows: 3000 }")
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            let result = try await SyncFixture.sync(server, "exact")
            #expect(result["truncated"] as? Bool == false, "\(result)")
            #expect(result["rows_read"] as? Int == 3000)
            #expect(try await SyncFixture.count(server, "exact") == 3000)
            #expect(try await SyncFixture.status(server, "exact")["truncated"] as? Bool == false)
            // One more row at the source: the next run reads it, and only it.
            try TestEnvironment.psql("INSERT INTO \(table) VALUES (3001, '2024-02-01')")
            let next = try await SyncFixture.sync(server, "exact")
            #expect(next["rows_read"] as? Int == 1 && next["truncated"] as? Bool == false, "\(next)")
            #expect(try await SyncFixture.count(server, "exact") == 3001)
        }
    }

    @Test func aCappedQueryDatasetContinuesAfterTiedTextKeysInTheSourcesOrder() async throws {
        // A query runs at PostgreSQL: its text keys must sort as DuckDB sorts them ("C" collation),
        // or the boundary would be a different row there than here.
        let table = SyncFixture.uniqueName("textkeys")
        // An ICU collation sorts k001a before k001A; DuckDB sorts by bytes, k001A first. Were the
        // source to order by its own collation, a run ending on k059A would drop k059a (last by
        // bytes) and continue after k059A, never to read k059a.
        try TestEnvironment.psql("""
            CREATE TABLE \(table) (code text COLLATE "und-x-icu" PRIMARY KEY, at timestamptz NOT NULL);
            INSERT INTO \(table) SELECT 'k' || lpad(g::text, 3, '0') || c, '2024-01-01' FROM generate_series(0, 249) g, (VALUES ('a'), ('A')) AS v(c);
            """)
        defer { _ = try? TestEnvironment.psql("DROP TABLE \(table)") }
        let yaml = try SyncFixture.configuration(datasets: """
            coded:
              source: pg
              dataset_query: "SELECT code AS dataset_id, at FROM \(table)"
              results_query: "SELECT code AS dataset_id, 1 AS one, at FROM \(table)"
              primary_key: [dataset_id]
              results_primary_key: [dataset_id]
              incremental_column: at
              max_sync_rows: 119
            """)
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            var runs = 0
            var truncated = true
            while truncated && runs < 10 {
                let result = try await SyncFixture.sync(server, "coded")
                #expect(result["status"] as? String == "succeeded", "\(result)")
                truncated = result["truncated"] as? Bool ?? false
                runs += 1
            }
            #expect(runs == 5, "500 rows at 119 a run take five runs")
            for table in ["coded_dataset", "coded_results"] {
                let exact = try await SyncFixture.copyRows(server, "SELECT count(*), count(DISTINCT dataset_id) FROM \(table)")
                #expect(exact == [[.bigint(500), .bigint(500)]], "\(table)")
            }
        }
    }

    @Test func aPartitionColumnSpanningAllOfInt64Syncs() async throws {
        let table = SyncFixture.uniqueName("extremes")
        try TestEnvironment.psql("""
            CREATE TABLE \(table) (id bigint PRIMARY KEY, label text);
            INSERT INTO \(table) VALUES (-9223372036854775808, 'min'), (-1, 'minus one'), (0, 'zero'), (1, 'one'), (9223372036854775807, 'max');
            """)
        defer { _ = try? TestEnvironment.psql("DROP TABLE \(table)") }
        let yaml = try SyncFixture.configuration(datasets: "extremes: { source: pg, table: \(table), primary_key: [id], partition_column: id }", workers: 4)
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            let result = try await SyncFixture.sync(server, "extremes")
            #expect(result["status"] as? String == "succeeded", "\(result)")
            let rows = try await SyncFixture.copyRows(server, "SELECT id, label FROM extremes ORDER BY id")
            #expect(rows == [
                [.bigint(Int64.min), .varchar("min")], [.bigint(-1), .varchar("minus one")], [.bigint(0), .varchar("zero")],
                [.bigint(1), .varchar("one")], [.bigint(Int64.max), .varchar("max")],
            ])
        }
    }

    @Test func partitionsCoverEveryValueOnce() async throws {
        // Spans that do not divide evenly, and spans smaller than the number of workers.
        // Spans that do not divide evenly, and rows whose partition value is NULL (in no range).
        let table = SyncFixture.uniqueName("spans")
        try TestEnvironment.psql("""
            CREATE TABLE \(table) (id bigint, label text);
            INSERT INTO \(table) SELECT g, 'n' FROM generate_series(1, 1003) g;
            INSERT INTO \(table) VALUES (9223372036854775806, 'n'), (9223372036854775807, 'n'), (NULL, 'null one'), (NULL, 'null two');
            """)
        defer { _ = try? TestEnvironment.psql("DROP TABLE \(table)") }
        let yaml = try SyncFixture.configuration(datasets: "spans: { source: pg, table: \(table), partition_column: id }", workers: 3)
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            let result = try await SyncFixture.sync(server, "spans")
            #expect(result["status"] as? String == "succeeded", "\(result)")
            let exact = try await SyncFixture.copyRows(server, "SELECT count(*), count(DISTINCT id), count(*) FILTER (WHERE id IS NULL) FROM spans")
            #expect(exact == [[.bigint(1007), .bigint(1005), .bigint(2)]])
        }
    }
}

/// The token of a sync's chunk stream is in no statement text, so no query log can show it.
@Suite(.serialized) struct ChunkTokenTests {
    @Test func theLoadersTokenNeverAppearsInDuckDBsQueryLog() async throws {
        let table = SyncFixture.uniqueName("logged")
        try TestEnvironment.psql("CREATE TABLE \(table) (id int PRIMARY KEY); INSERT INTO \(table) SELECT generate_series(1, 5000)")
        defer { _ = try? TestEnvironment.psql("DROP TABLE \(table)") }
        let logs = LogCapture()
        let yaml = try SyncFixture.configuration(datasets: "logged: { source: pg, table: \(table) }")
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual, logs: logs) { server in
            let database = try #require(server.services.registry.database("default"))
            // What an attacker hoped to turn on through the query API, turned on here past the gate.
            try await database.withWriter { writer in try await writer.run { _ = try $0.query("SELECT * FROM enable_logging('QueryLog')").rows() } }
            #expect(try await SyncFixture.sync(server, "logged")["status"] as? String == "succeeded")
            let statements = try await SyncFixture.copyRows(server, "SELECT message FROM duckdb_logs() WHERE type = 'QueryLog'").compactMap { $0.first?.text }
            let loads = statements.filter { $0.contains("chunk_stream") }
            #expect(!loads.isEmpty, "the loaders' statements were not logged: \(statements)")
            // Run ids are UUIDs too, so only the loaders' own statements are searched for one.
            let uuid = try NSRegularExpression(pattern: "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
            for text in loads {
                #expect(uuid.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) == nil, "a stream token is in the query log: \(text)")
            }
            #expect(loads.allSatisfy { $0.contains("chunk_stream($1)") }, "\(loads)")
        }
    }
}
