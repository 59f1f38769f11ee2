import DuckDBKit
@testable import DucklingCore
import DucklingTestSupport
import Foundation
import Testing

/// Syncing from a real PostgreSQL (DESIGN.md §5).
@Suite(.serialized) struct SyncTests {
    @Test func everyTypeSurvivesAFullSyncExactly() async throws {
        let table = SyncFixture.uniqueName("types")
        try TestEnvironment.psql("""
            CREATE TABLE \(table) (id int PRIMARY KEY, s smallint, i int, b bigint, n numeric(38,10), r real, d double precision,
              t text, v varchar(20), f bool, dt date, ts timestamp, tz timestamptz, iv interval, u uuid, j jsonb, by bytea,
              ia int[], ta text[]);
            INSERT INTO \(table) VALUES
              (1, -32768, -2147483648, -9223372036854775808, -1234567890123456789012345678.0123456789, -3.4e38, -1.7976931348623157e308,
               'héllo, "world"\n', 'short', true, '0001-01-01', '1900-01-01 00:00:00.000001', '2024-01-01 12:00:00+02',
               '-1 year 2 mons -3 days 04:05:06.789', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2, {"b": null}]}', '\\x00deadbeef',
               '{1,NULL,3}', '{"x","y z",NULL,""}'),
              (2, 32767, 2147483647, 9223372036854775807, 9999999999999999999999999999.9999999999, 1.5, 2.25,
               '', 'v', false, '9999-12-31', '2262-04-11 23:47:16.854775', '1970-01-01 00:00:00+00', '1 day',
               '00000000-0000-0000-0000-000000000000', '[]', '\\x', '{}', '{}'),
              (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
            """)
        defer { _ = try? TestEnvironment.psql("DROP TABLE \(table)") }
        let yaml = try SyncFixture.configuration(datasets: "typed: { source: pg, table: public.\(table), primary_key: [id] }")
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            let result = try await SyncFixture.sync(server, "typed")
            #expect(result["status"] as? String == "succeeded", "\(result)")
            let copy = try await SyncFixture.copyRows(server, "SELECT * FROM typed ORDER BY id")
            let source = try SyncFixture.sourceRows("SELECT * FROM pg.public.\(table) ORDER BY id")
            #expect(copy.count == 3)
            #expect(copy == source)
            // The copy keeps the source's types.
            let types = try await SyncFixture.copyRows(server, "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'typed' ORDER BY column_index")
            #expect(types.map { $0[1].text ?? "" } == [
                "INTEGER", "SMALLINT", "INTEGER", "BIGINT", "DECIMAL(38,10)", "FLOAT", "DOUBLE", "VARCHAR", "VARCHAR", "BOOLEAN",
                "DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "INTERVAL", "UUID", "VARCHAR", "BLOB", "INTEGER[]", "VARCHAR[]",
            ])
            // Exact values, spelled out.
            let first = try #require(copy.first)
            #expect(first[4].text == "-1234567890123456789012345678.0123456789")
            #expect(first[7] == .varchar("héllo, \"world\"\n"))
            #expect(first[12].text == "2024-01-01 10:00:00+00")
            #expect(first[13] == .interval(.init(months: -10, days: -3, micros: 14_706_789_000)))
            #expect(first[15].text == #"{"a": [1, 2, {"b": null}]}"#)
            #expect(first[16] == .blob([0x00, 0xDE, 0xAD, 0xBE, 0xEF]))
            #expect(first[17] == .list([.integer(1), .null, .integer(3)]))
            #expect(first[18] == .list([.varchar("x"), .varchar("y z"), .null, .varchar("")]))
            #expect(copy[2].dropFirst().allSatisfy { $0.isNull })
        }
    }

    @Test func incrementalRunsMergeInsertsUpdatesLateCommitsAndDeletes() async throws {
        let table = SyncFixture.uniqueName("orders")
        try TestEnvironment.psql("""
            CREATE TABLE \(table) (id int PRIMARY KEY, amount int, updated_at timestamptz NOT NULL);
            INSERT INTO \(table) SELECT g, g, '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 second' FROM generate_series(1, 1000) g;
            """)
        defer { _ = try? TestEnvironment.psql("DROP TABLE \(table)") }
        let yaml = try SyncFixture.configuration(datasets: """
            orders: { source: pg, table: public.\(table), primary_key: [id], incremental_column: updated_at, lookback: 5m, delete_detection: primary_key_diff }
            """)
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            var result = try await SyncFixture.sync(server, "orders")
            #expect(result["sync_type"] as? String == "full")
            var status = try await SyncFixture.status(server, "orders")
            #expect(status["watermarks"] as? [String: String] == ["orders": "2024-01-01 00:16:40+00"])
            #expect(status["merge"] as? String == "primary_key")

            // An insert, updates, a late commit below the watermark but inside the lookback, a delete.
            try TestEnvironment.psql("""
                INSERT INTO \(table) VALUES (1001, 1001, '2024-01-01 00:20:00+00');
                UPDATE \(table) SET amount = -amount, updated_at = '2024-01-01 00:20:00+00' WHERE id IN (5, 6);
                INSERT INTO \(table) VALUES (2000, 2000, '2024-01-01 00:14:00+00');
                DELETE FROM \(table) WHERE id = 7;
                """)
            result = try await SyncFixture.sync(server, "orders")
            #expect(result["sync_type"] as? String == "incremental", "\(result)")
            let rows = try await SyncFixture.copyRows(server, "SELECT count(*), count(DISTINCT id), sum(amount) FILTER (WHERE id IN (5, 6)), count(*) FILTER (WHERE id = 2000), count(*) FILTER (WHERE id = 7) FROM orders")
            #expect(rows == [[.bigint(1001), .bigint(1001), .hugeint(-11), .bigint(1), .bigint(0)]])
            status = try await SyncFixture.status(server, "orders")
            #expect(status["watermarks"] as? [String: String] == ["orders": "2024-01-01 00:20:00+00"])
            #expect(status["reconciled"] as? Bool == true)
            // The incremental run read the window, not the table.
            #expect((status["incremental_rows"] as? Int ?? 0) < 400)
            let source = try SyncFixture.sourceRows("SELECT id, amount FROM pg.public.\(table) ORDER BY id")
            #expect(try await SyncFixture.copyRows(server, "SELECT id, amount FROM orders ORDER BY id") == source)
        }
    }

    @Test func withoutAPrimaryKeyRunsAppendAndSaySo() async throws {
        let table = SyncFixture.uniqueName("events")
        try TestEnvironment.psql("""
            CREATE TABLE \(table) (name text, at timestamp NOT NULL);
            INSERT INTO \(table) SELECT 'e' || g, '2024-01-01'::timestamp + g * interval '1 minute' FROM generate_series(1, 50) g;
            """)
        defer { _ = try? TestEnvironment.psql("DROP TABLE \(table)") }
        let yaml = try SyncFixture.configuration(datasets: "events: { source: pg, table: \(table), incremental_column: at }")
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            _ = try await SyncFixture.sync(server, "events")
            try TestEnvironment.psql("INSERT INTO \(table) VALUES ('late', '2023-01-01'), ('new', '2025-01-01')")
            let result = try await SyncFixture.sync(server, "events")
            #expect(result["rows_read"] as? Int == 1)
            #expect(try await SyncFixture.count(server, "events") == 51)
            #expect(try await SyncFixture.status(server, "events")["merge"] as? String == "append_only")
        }
    }

    @Test func softDeletedRowsLeaveTheCopyAndTheWatermarkMovesPastThem() async throws {
        let table = SyncFixture.uniqueName("accounts")
        try TestEnvironment.psql("""
            CREATE TABLE \(table) (id int PRIMARY KEY, deleted boolean, updated_at timestamptz NOT NULL);
            INSERT INTO \(table) SELECT g, g = 3, '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 10) g;
            """)
        defer { _ = try? TestEnvironment.psql("DROP TABLE \(table)") }
        let yaml = try SyncFixture.configuration(datasets: """
            accounts: { source: pg, table: \(table), primary_key: [id], incremental_column: updated_at, soft_delete_column: deleted }
            """)
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            _ = try await SyncFixture.sync(server, "accounts")
            #expect(try await SyncFixture.copyRows(server, "SELECT list(id ORDER BY id)::VARCHAR FROM accounts") == [[.varchar("[1, 2, 4, 5, 6, 7, 8, 9, 10]")]])

            // A row soft-deleted at the source leaves the copy; a new one with NULL stays.
            try TestEnvironment.psql("""
                UPDATE \(table) SET deleted = true, updated_at = '2024-01-02 00:00:00+00' WHERE id = 5;
                INSERT INTO \(table) VALUES (11, NULL, '2024-01-02 00:00:00+00');
                """)
            var result = try await SyncFixture.sync(server, "accounts")
            #expect(result["sync_type"] as? String == "incremental")
            #expect(try await SyncFixture.copyRows(server, "SELECT list(id ORDER BY id)::VARCHAR FROM accounts") == [[.varchar("[1, 2, 4, 6, 7, 8, 9, 10, 11]")]])
            #expect(try await SyncFixture.status(server, "accounts")["watermarks"] as? [String: String] == ["accounts": "2024-01-02 00:00:00+00"])

            // When the newest change is a soft delete, the watermark still moves past it.
            try TestEnvironment.psql("UPDATE \(table) SET deleted = true, updated_at = '2024-01-03 00:00:00+00' WHERE id = 6")
            result = try await SyncFixture.sync(server, "accounts")
            #expect(result["rows"] as? Int == 8)
            #expect(try await SyncFixture.copyRows(server, "SELECT count(*) FILTER (WHERE id = 6), count(*) FILTER (WHERE deleted) FROM accounts") == [[.bigint(0), .bigint(0)]])
            #expect(try await SyncFixture.status(server, "accounts")["watermarks"] as? [String: String] == ["accounts": "2024-01-03 00:00:00+00"])
        }
    }

    @Test func splitQueriesBecomeTwoTablesAndAViewThatKeepsDatasetsWithoutResults() async throws {
        let traces = SyncFixture.uniqueName("traces"), metrics = SyncFixture.uniqueName("metrics")
        try TestEnvironment.psql("""
            CREATE TABLE \(traces) (trace_id int PRIMARY KEY, prompt text, created_at timestamptz NOT NULL DEFAULT now());
            CREATE TABLE \(metrics) (trace_id int, metric_name text, metric_value float8, created_at timestamptz NOT NULL DEFAULT now(),
              PRIMARY KEY (trace_id, metric_name));
            INSERT INTO \(traces) (trace_id, prompt) SELECT g, 'p' || g FROM generate_series(1, 5) g;
            INSERT INTO \(metrics) (trace_id, metric_name, metric_value) SELECT g, m, g FROM generate_series(1, 3) g, (VALUES ('a'), ('b')) v(m);
            """)
        defer { _ = try? TestEnvironment.psql("DROP TABLE \(traces), \(metrics)") }
        let yaml = try SyncFixture.configuration(datasets: """
            monitoring:
              source: pg
              dataset_query: "SELECT trace_id AS dataset_id, prompt AS query, created_at FROM \(traces) ORDER BY created_at DESC"
              results_query: "SELECT trace_id AS dataset_id, metric_name, metric_value AS metric_score, created_at FROM \(metrics)"
              primary_key: [dataset_id]
              results_primary_key: [dataset_id, metric_name]
              incremental_column: created_at
            """)
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            let result = try await SyncFixture.sync(server, "monitoring")
            #expect(result["status"] as? String == "succeeded", "\(result)")
            #expect(try await SyncFixture.count(server, "monitoring_dataset") == 5)
            #expect(try await SyncFixture.count(server, "monitoring_results") == 6)
            // 3 traces with 2 metrics each, 2 traces without any: the view keeps them.
            #expect(try await SyncFixture.count(server, "monitoring") == 8)
            #expect(try await SyncFixture.copyRows(server, "SELECT count(*) FROM monitoring WHERE metric_name IS NULL") == [[.bigint(2)]])
            let status = try await SyncFixture.status(server, "monitoring")
            #expect(Set((status["watermarks"] as? [String: String] ?? [:]).keys) == ["monitoring_dataset", "monitoring_results"])
            // The query API reads the view like any table.
            #expect(try await server.rows("SELECT count(DISTINCT dataset_id) FROM monitoring").first?.first as? String == "5")
        }
    }

    @Test func bothSplitQueriesReadOneSnapshotWhileAWriterInserts() async throws {
        let traces = SyncFixture.uniqueName("traces"), metrics = SyncFixture.uniqueName("metrics")
        try TestEnvironment.psql("""
            CREATE TABLE \(traces) (trace_id int PRIMARY KEY, payload text);
            CREATE TABLE \(metrics) (trace_id int, metric_name text, PRIMARY KEY (trace_id, metric_name));
            INSERT INTO \(traces) SELECT g, repeat('x', 200) FROM generate_series(1, 200000) g;
            INSERT INTO \(metrics) SELECT g, 'm' FROM generate_series(1, 200000) g;
            """)
        defer { _ = try? TestEnvironment.psql("DROP TABLE \(traces), \(metrics)") }
        let yaml = try SyncFixture.configuration(datasets: """
            pairs:
              source: pg
              dataset_query: "SELECT trace_id AS dataset_id, payload FROM \(traces)"
              results_query: "SELECT trace_id AS dataset_id, metric_name FROM \(metrics)"
            """)
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            // A writer adds a trace and its metric in one transaction, over and over, during the syncs.
            let writer = Task {
                var next = 1_000_000
                while !Task.isCancelled {
                    try TestEnvironment.psql("BEGIN; INSERT INTO \(traces) VALUES (\(next), 'new'); INSERT INTO \(metrics) VALUES (\(next), 'm'); COMMIT;")
                    next += 1
                }
                return next - 1_000_000
            }
            defer { writer.cancel() }
            for _ in 0..<3 {
                let result = try await SyncFixture.sync(server, "pairs")
                #expect(result["status"] as? String == "succeeded", "\(result)")
                let orphans = try await SyncFixture.copyRows(server, """
                    SELECT count(*) FROM pairs_results r WHERE NOT EXISTS (SELECT 1 FROM pairs_dataset d WHERE d.dataset_id = r.dataset_id)
                    """)
                #expect(orphans == [[.bigint(0)]])
                let counts = try await SyncFixture.copyRows(server, "SELECT (SELECT count(*) FROM pairs_dataset), (SELECT count(*) FROM pairs_results)")
                #expect(counts.first?[0] == counts.first?[1])
            }
            writer.cancel()
            let inserted = try await writer.value
            #expect(inserted > 0, "the writer never inserted during the syncs")
        }
    }

    @Test func partitionedReadsGiveExactlyTheSameTableAsOneReader() async throws {
        let table = SyncFixture.uniqueName("wide")
        try TestEnvironment.psql("""
            CREATE TABLE \(table) (id bigint PRIMARY KEY, label text, value numeric(12,3), at timestamptz);
            INSERT INTO \(table) SELECT g, md5(g::text), g / 7.0, now() - g * interval '1 second' FROM generate_series(1, 300000) g;
            DELETE FROM \(table) WHERE id % 97 = 0;
            """)
        defer { _ = try? TestEnvironment.psql("DROP TABLE \(table)") }
        let yaml = try SyncFixture.configuration(datasets: """
            parallel: { source: pg, table: \(table), partition_column: id }
            single: { source: pg, table: \(table) }
            """, workers: 4)
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            for dataset in ["parallel", "single"] {
                let result = try await SyncFixture.sync(server, dataset)
                #expect(result["status"] as? String == "succeeded", "\(result)")
            }
            #expect(try await SyncFixture.count(server, "parallel") == 300_000 - 3092)
            let difference = try await SyncFixture.copyRows(server, """
                SELECT (SELECT count(*) FROM (SELECT * FROM parallel EXCEPT ALL SELECT * FROM single)),
                       (SELECT count(*) FROM (SELECT * FROM single EXCEPT ALL SELECT * FROM parallel))
                """)
            #expect(difference == [[.bigint(0), .bigint(0)]])
        }
    }

    @Test func resetWatermarkConflictsAndTheRowCap() async throws {
        let table = SyncFixture.uniqueName("capped")
        try TestEnvironment.psql("""
            CREATE TABLE \(table) (id int PRIMARY KEY, at timestamp NOT NULL);
            INSERT INTO \(table) SELECT g, '2024-01-01'::timestamp + g * interval '1 second' FROM generate_series(1, 400000) g;
            """)
        defer { _ = try? TestEnvironment.psql("DROP TABLE \(table)") }
        let yaml = try SyncFixture.configuration(datasets: """
            capped: { source: pg, table: \(table), primary_key: [id], incremental_column: at, max_sync_rows: 1000 }
            big: { source: pg, table: \(table), primary_key: [id], incremental_column: at }
            """)
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            // The cap: the first 1000 rows by the incremental column, marked truncated; the next run continues.
            var result = try await SyncFixture.sync(server, "capped")
            #expect(result["truncated"] as? Bool == true)
            #expect(try await SyncFixture.count(server, "capped") == 1000)
            #expect(try await SyncFixture.status(server, "capped")["truncated"] as? Bool == true)
            result = try await SyncFixture.sync(server, "capped")
            #expect(result["sync_type"] as? String == "incremental")
            #expect(try await SyncFixture.count(server, "capped") == 2000)

            // A second request while a run is going: 409 with the running run's id.
            let started = try await server.request(.POST, "/api/store/sync/big")
            #expect(started.status == 202)
            let runID = (try started.json["run"] as? [String: Any])?["run_id"] as? String
            let second = try await server.request(.POST, "/api/store/sync/big")
            #expect(second.status == 409)
            #expect((try second.json["error"] as? [String: Any])?["run_id"] as? String == runID)
            #expect(second.errorCode == "sync_running")
            let ready = try await eventually(within: .seconds(60)) { try await SyncFixture.status(server, "big")["state"] as? String == "ready" }
            #expect(ready)

            // After a reset, the next run is full.
            result = try await SyncFixture.sync(server, "big")
            #expect(result["sync_type"] as? String == "incremental")
            let reset = try await server.request(.POST, "/api/store/sync/big/reset-watermark")
            #expect(reset.status == 200)
            #expect(try await SyncFixture.status(server, "big")["watermarks"] as? [String: String] == [:])
            result = try await SyncFixture.sync(server, "big")
            #expect(result["sync_type"] as? String == "full")
            #expect(try await SyncFixture.count(server, "big") == 400_000)

            let unknown = try await server.request(.POST, "/api/store/sync/nope")
            #expect(unknown.status == 404)
            let readOnly = try await server.request(.POST, "/api/store/sync/big", key: .readOnly)
            #expect(readOnly.status == 403)
        }
    }
}
