import DuckDBKit
@testable import DucklingCore
import DucklingTestSupport
import Foundation
import Testing

/// Lake tables end to end through the API (DESIGN.md §9): every variant of where the catalog and
/// the data files live runs the same tests, against moto and the tests' PostgreSQL.
@Suite(.serialized) struct LakeTableTests {
    @Test(arguments: LakeVariant.allCases)
    func theSameRowsAppendedAsJSONNDJSONCSVAndParquetAreIdenticalAndFourSnapshotsAreListed(variant: LakeVariant) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = try LakeFixture.writeFiles(rows: 10_000, to: directory)
        try await TestServer.run(yaml: try await variant.yaml()) { server in
            let created = try await server.json(.POST, "/tables", ["name": "every_type", "columns": LakeFixture.allTypeColumns])
            #expect(created.status == 201, "\(created.text)")
            var appends: [(String, Int)] = []
            for format in ["json", "ndjson", "csv", "parquet"] {
                let reply = try await server.send(.PUT, "/tables/every_type", contentType: LakeFixture.contentTypes[format]!, file: files[format])
                #expect(reply.status == 200, "\(format): \(reply.text)")
                let append = try reply.json["append"] as? [String: Any]
                #expect(append?["rows"] as? Int == 10_000, "\(format): \(reply.text)")
                appends.append((format, append?["snapshot_id"] as? Int ?? -1))
            }
            // Each append is one snapshot, listed with its author and message.
            let listed = try await server.request(.GET, "/tables/every_type/snapshots")
            let snapshots = try #require(try listed.json["snapshots"] as? [[String: Any]])
            let ids = snapshots.compactMap { $0["id"] as? Int }
            #expect(appends.allSatisfy { ids.contains($0.1) }, "\(appends) in \(ids)")
            let appendSnapshots = snapshots.filter { ($0["commit_message"] as? String)?.hasPrefix("append") == true }
            #expect(appendSnapshots.count == 4, "\(snapshots)")
            #expect(appendSnapshots.allSatisfy { ($0["author"] as? String)?.contains("admin") == true })

            // The rows each append inserted are the same rows (EXCEPT ALL both ways, every column).
            for (format, snapshot) in appends.dropFirst() {
                let first = appends[0].1
                let sql = """
                    SELECT count(*)::INTEGER FROM (
                      (SELECT * EXCLUDE (snapshot_id, rowid, change_type) FROM ducklake_table_changes('lake', 'main', 'every_type', \(first), \(first))
                       EXCEPT ALL
                       SELECT * EXCLUDE (snapshot_id, rowid, change_type) FROM ducklake_table_changes('lake', 'main', 'every_type', \(snapshot), \(snapshot)))
                      UNION ALL
                      (SELECT * EXCLUDE (snapshot_id, rowid, change_type) FROM ducklake_table_changes('lake', 'main', 'every_type', \(snapshot), \(snapshot))
                       EXCEPT ALL
                       SELECT * EXCLUDE (snapshot_id, rowid, change_type) FROM ducklake_table_changes('lake', 'main', 'every_type', \(first), \(first))))
                    """
                let differing = try await server.lakeRows(sql)
                #expect(differing.first?.first as? Int == 0, "\(format) differs from json: \(differing)")
            }
            let table = try await server.lakeTable("every_type")
            #expect(table["row_count"] as? Int == 40_000)
            #expect((table["columns"] as? [[String: Any]])?.count == LakeFixture.allTypes.count)
            #expect((table["data_files"] as? Int ?? 0) >= 4)
        }
    }

    @Test(arguments: LakeVariant.allCases)
    func anAppendWithOneMalformedRowFailsNamingTheLineAndChangesNothing(variant: LakeVariant) async throws {
        try await TestServer.run(yaml: try await variant.yaml()) { server in
            let created = try await server.json(.POST, "/tables", ["name": "events", "columns": [["name": "id", "type": "INTEGER"], ["name": "label", "type": "VARCHAR"]]])
            #expect(created.status == 201, "\(created.text)")
            let good = (0..<50).map { "\($0),label \($0)" }.joined(separator: "\n")
            #expect(try await server.send(.PUT, "/tables/events", contentType: "text/csv", data: Data("id,label\n\(good)\n".utf8)).status == 200)
            let before = try await server.lakeTable("events")

            var lines = (0..<100).map { "\($0),x\($0)" }
            lines[41] = "not-a-number,broken"
            let reply = try await server.send(.PUT, "/tables/events", contentType: "text/csv", data: Data(("id,label\n" + lines.joined(separator: "\n") + "\n").utf8))
            #expect(reply.status == 400, "\(reply.text)")
            let message = (try reply.json["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains("Line: 43"), "the header is line 1, so row 42 is line 43: \(message)")
            #expect(!message.contains("/uploads/") && message.contains("the request body"), "\(message)")

            let after = try await server.lakeTable("events")
            #expect(after["snapshot_id"] as? Int == before["snapshot_id"] as? Int)
            #expect(after["row_count"] as? Int == 50)
            #expect(try await server.lakeRows("SELECT count(*)::INTEGER FROM events WHERE label LIKE 'x%'").first?.first as? Int == 0)
        }
    }

    @Test(arguments: LakeVariant.allCases)
    func timeTravelReadsTheFirstAppendAndTheChangeFeedListsInsertsAndDeletes(variant: LakeVariant) async throws {
        try await TestServer.run(yaml: try await variant.yaml()) { server in
            _ = try await server.json(.POST, "/tables", ["name": "orders", "columns": [["name": "id", "type": "INTEGER"], ["name": "amount", "type": "DOUBLE"]]])
            let first = try await server.json(.PUT, "/tables/orders", (0..<20).map { ["id": $0, "amount": Double($0) * 1.5] })
            let firstSnapshot = try #require((try first.json["append"] as? [String: Any])?["snapshot_id"] as? Int)
            let second = try await server.json(.PUT, "/tables/orders", (20..<50).map { ["id": $0, "amount": 2.0] })
            let secondSnapshot = try #require((try second.json["append"] as? [String: Any])?["snapshot_id"] as? Int)
            let deleted = try await server.json(.POST, "/tables/orders/delete", ["filter": "id < 5"])
            #expect(deleted.status == 200, "\(deleted.text)")
            let deleteSnapshot = try #require((try deleted.json["append"] as? [String: Any])?["snapshot_id"] as? Int)
            #expect((try deleted.json["append"] as? [String: Any])?["rows"] as? Int == 5)

            // ?snapshot= of the first append: its 20 rows only; the current table has 45.
            let old = try await server.json(.POST, "/tables/orders/query?snapshot=\(firstSnapshot)", ["columns": ["id"], "order_by": ["id DESC"]])
            #expect(old.status == 200, "\(old.text)")
            let oldRows = try #require(try old.json["rows"] as? [[Any]])
            #expect(oldRows.count == 20 && oldRows.first?.first as? Int == 19)
            let now = try await server.json(.POST, "/tables/orders/query", ["filter": "amount = 2.0", "limit": 100])
            #expect((try now.json["rows"] as? [[Any]])?.count == 30)
            #expect(try await server.lakeRows("SELECT count(*)::INTEGER FROM orders AT (VERSION => \(firstSnapshot))").first?.first as? Int == 20)
            #expect(try await server.lakeRows("SELECT count(*)::INTEGER FROM orders").first?.first as? Int == 45)
            // ?as_of= the first append's own time reads that snapshot; a time before the table is refused.
            let listed = try #require(try (try await server.request(.GET, "/tables/orders/snapshots")).json["snapshots"] as? [[String: Any]])
            let firstTime = try #require(listed.first { $0["id"] as? Int == firstSnapshot }?["time"] as? String)
            let atFirst = try await server.json(.POST, "/tables/orders/query?as_of=\(firstTime)", ["columns": ["id"]])
            #expect((try atFirst.json["rows"] as? [[Any]])?.count == 20, "\(firstTime): \(atFirst.text)")
            #expect(try await server.json(.POST, "/tables/orders/query?as_of=2001-01-01T00:00:00Z", ["columns": ["id"]]).status == 400)
            #expect(try await server.json(.POST, "/tables/orders/query?as_of=yesterday", ["columns": ["id"]]).status == 400)
            let asOf = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))
            let future = try await server.json(.POST, "/tables/orders/query?as_of=\(asOf)", ["columns": ["id"]])
            let futureRows = try future.json["rows"] as? [[Any]]
            #expect(future.status == 200 && futureRows?.count == 45, "as_of after the last snapshot reads the current table: \(future.text)")

            // The change feed from the second append to the delete: 30 inserts and 5 deletes, nothing else.
            let feed = try await server.request(.GET, "/tables/orders/changes?from=\(secondSnapshot)&to=\(deleteSnapshot)")
            #expect(feed.status == 200, "\(feed.text)")
            let columns = try #require(try feed.json["columns"] as? [[String: Any]]).compactMap { $0["name"] as? String }
            let changeType = try #require(columns.firstIndex(of: "change_type"))
            let id = try #require(columns.firstIndex(of: "id"))
            let changes = try #require(try feed.json["rows"] as? [[Any]])
            let inserts = changes.filter { $0[changeType] as? String == "insert" }.compactMap { $0[id] as? Int }
            let deletes = changes.filter { $0[changeType] as? String == "delete" }.compactMap { $0[id] as? Int }
            #expect(inserts.sorted() == Array(20..<50))
            #expect(deletes.sorted() == Array(0..<5))
            #expect(changes.count == 35)

            // A CSV without a nullable column fills it with NULL, like the other formats.
            let partial = try await server.send(.PUT, "/tables/orders", contentType: "text/csv", data: Data("id\n100\n101\n".utf8))
            #expect(partial.status == 200, "\(partial.text)")
            #expect(try await server.lakeRows("SELECT count(*)::INTEGER FROM orders WHERE id >= 100 AND amount IS NULL").first?.first as? Int == 2)
        }
    }
}

extension LakeTableTests {
    @Test(arguments: LakeVariant.allCases)
    func schemaChangesRewriteNoFileAndOldSnapshotsKeepTheirSchema(variant: LakeVariant) async throws {
        try await TestServer.run(yaml: try await variant.yaml()) { server in
            let lake = try #require(server.services.lake)
            _ = try await server.json(.POST, "/tables", ["name": "people", "columns": [["name": "id", "type": "INTEGER"], ["name": "name", "type": "VARCHAR"], ["name": "age", "type": "INTEGER"]]])
            let append = try await server.json(.PUT, "/tables/people", (0..<100).map { ["id": $0, "name": "p\($0)", "age": 20 + $0 % 50] })
            let before = try #require((try append.json["append"] as? [String: Any])?["snapshot_id"] as? Int)
            let files = try await lake.dataFiles(of: "people")
            #expect(!files.isEmpty)

            let changes: [[String: Any]] = [
                ["op": "add_column", "column": "email", "type": "VARCHAR"],
                ["op": "rename_column", "column": "name", "to": "full_name"],
                ["op": "drop_column", "column": "age"],
                ["op": "set_type", "column": "id", "type": "BIGINT"],
            ]
            let altered = try await server.json(.PATCH, "/tables/people", ["changes": changes])
            #expect(altered.status == 200, "\(altered.text)")
            let columns = ((try altered.json["table"] as? [String: Any])?["columns"] as? [[String: Any]] ?? []).map { "\($0["name"] ?? "") \($0["type"] ?? "")" }
            #expect(columns == ["id BIGINT", "full_name VARCHAR", "email VARCHAR"])
            #expect(try await lake.dataFiles(of: "people") == files, "no data file is rewritten")

            // The new schema reads the old rows; the old snapshot reads with its own columns.
            let now = try await server.json(.POST, "/tables/people/query", ["columns": ["id", "full_name", "email"], "order_by": ["id"], "limit": 1])
            let row = try #require((try now.json["rows"] as? [[Any]])?.first)
            #expect(row.count == 3 && row[1] as? String == "p0" && row[2] is NSNull, "\(now.text)")
            let old = try await server.json(.POST, "/tables/people/query?snapshot=\(before)", ["columns": ["id", "name", "age"], "order_by": ["id"], "limit": 1])
            #expect(old.status == 200, "\(old.text)")
            let oldColumns = (try old.json["columns"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
            #expect(oldColumns == ["id", "name", "age"])
            #expect(try await server.lakeRows("SELECT age FROM people AT (VERSION => \(before)) WHERE id = 3").first?.first as? Int == 23)

            // Narrowing is refused, and changes nothing.
            let narrowed = try await server.json(.PATCH, "/tables/people", ["changes": [["op": "set_type", "column": "id", "type": "INTEGER"]]])
            #expect(narrowed.status == 400, "\(narrowed.text)")
            #expect(((try await server.lakeTable("people"))["columns"] as? [[String: Any]])?.first?["type"] as? String == "BIGINT")
        }
    }

    @Test(arguments: LakeVariant.allCases)
    func maintenanceAfterManyOneRowAppendsLeavesFewerFilesTheSameRowsAndExpiresOldSnapshots(variant: LakeVariant) async throws {
        let extra = "  data_inlining_row_limit: 0\n  snapshot_max_age: 1s\n"
        try await TestServer.run(yaml: try await variant.yaml(extra: extra)) { server in
            let lake = try #require(server.services.lake)
            _ = try await server.json(.POST, "/tables", ["name": "ticks", "columns": [["name": "id", "type": "INTEGER"], ["name": "v", "type": "VARCHAR"]]])
            var firstSnapshot = 0
            for id in 0..<200 {
                let reply = try await server.json(.PUT, "/tables/ticks", [["id": id, "v": "tick \(id)"]])
                #expect(reply.status == 200, "\(reply.text)")
                if id == 0 { firstSnapshot = (try reply.json["append"] as? [String: Any])?["snapshot_id"] as? Int ?? 0 }
            }
            let filesBefore = try await lake.dataFiles(of: "ticks").count
            #expect(filesBefore == 200, "one file per append with inlining off")
            let rowsBefore = try await server.lakeRows("SELECT id, v FROM ticks ORDER BY id").map { "\($0)" }
            try await Task.sleep(for: .milliseconds(1100))

            let reply = try await server.request(.POST, "/tables/ticks/maintenance")
            #expect(reply.status == 200, "\(reply.text)")
            let report = try #require(try reply.json["maintenance"] as? [String: Any])
            let before = report["before"] as? [String: Any], after = report["after"] as? [String: Any]
            #expect(before?["files"] as? Int == 200, "\(report)")
            #expect((after?["files"] as? Int ?? 200) < 200, "\(report)")
            #expect((report["snapshots_expired"] as? Int ?? 0) > 0, "\(report)")
            let filesAfter = try await lake.dataFiles(of: "ticks").count
            #expect(filesAfter < filesBefore)
            #expect(try await server.lakeRows("SELECT id, v FROM ticks ORDER BY id").map { "\($0)" } == rowsBefore)

            // The first append's snapshot is gone; the current one stays readable.
            let old = try await server.query("SELECT count(*) FROM ticks AT (VERSION => \(firstSnapshot))", db: "lake")
            #expect(old.status == 400, "\(old.text)")
            let snapshots = try #require(try (try await server.request(.GET, "/tables/ticks/snapshots")).json["snapshots"] as? [[String: Any]])
            #expect(!snapshots.contains { $0["id"] as? Int == firstSnapshot })
            #expect(try await server.lakeRows("SELECT count(*)::INTEGER FROM ticks").first?.first as? Int == 200)
        }
    }

    @Test func badNamesTypesQueriesAndBodiesAreRefusedAndChangeNothing() async throws {
        try await TestServer.run(yaml: "lake:\n  max_append_bytes: 2048\n") { server in
            _ = try await server.json(.POST, "/tables", ["name": "kept", "columns": [["name": "id", "type": "INTEGER"]]])
            _ = try await server.json(.PUT, "/tables/kept", [["id": 1], ["id": 2]])
            let snapshot = try await server.lakeTable("kept")["snapshot_id"] as? Int

            for name in ["bad\"name", "has space", String(repeating: "x", count: 200), "semi;colon", "1starts_with_digit", ""] {
                let reply = try await server.json(.POST, "/tables", ["name": name, "columns": [["name": "id", "type": "INTEGER"]]])
                #expect(reply.status == 400 && reply.errorCode == "invalid_name", "\(name): \(reply.text)")
            }
            for type in ["NOTATYPE", "INTEGER); DROP TABLE kept; --", "ENUM('a', 'b')", "BIT", "UNION(a INTEGER, b VARCHAR)", "INTEGER[3]", "VARCHAR((",
                         "INTEGER NOT NULL", "INTEGER DEFAULT 1", "INTEGER, other BIGINT", "BIGINT USING (1)", "INTEGER PRIMARY KEY"] {
                let reply = try await server.json(.POST, "/tables", ["name": "typed", "columns": [["name": "c", "type": type]]])
                #expect(reply.status == 400 && reply.errorCode == "invalid_type", "\(type): \(reply.text)")
            }
            for change: [String: Any] in [["op": "add_column", "column": "x", "type": "INTEGER DEFAULT 7"], ["op": "add_column", "column": "x", "type": "INTEGER", "nullable": false],
                                          ["op": "set_type", "column": "id", "type": "BIGINT USING (id + 1)"], ["op": "drop_column", "column": "no such"]] {
                let reply = try await server.json(.PATCH, "/tables/kept", ["changes": [change]])
                #expect(reply.status == 400, "\(change): \(reply.text)")
            }
            let duplicate = try await server.json(.POST, "/tables", ["name": "kept", "columns": [["name": "id", "type": "INTEGER"]]])
            #expect(duplicate.status == 409 && duplicate.errorCode == "table_exists", "\(duplicate.text)")
            let otherCase = try await server.json(.POST, "/tables", ["name": "KEPT", "columns": [["name": "id", "type": "INTEGER"]]])
            #expect(otherCase.status == 409 && otherCase.errorCode == "table_exists", "\(otherCase.text)")
            #expect(try await server.request(.GET, "/tables/KEPT").status == 404)

            // Tables that do not exist.
            #expect(try await server.json(.POST, "/tables/missing/query", ["limit": 1]).status == 404)
            #expect(try await server.request(.GET, "/tables/missing").status == 404)
            #expect(try await server.json(.PUT, "/tables/missing", [["id": 1]]).status == 404)
            #expect(try await server.request(.DELETE, "/tables/missing").status == 404)

            // Caller SQL reaches the lake's tables and nothing else.
            let dataPath = server.dataDirectory + "/lake/files"
            let refused = [
                "SELECT * FROM read_parquet('\(dataPath)/**/*.parquet')", "SELECT * FROM glob('\(dataPath)/**')",
                "SELECT * FROM read_csv('/etc/passwd')", "SELECT * FROM '\(dataPath)/main/kept/x.parquet'",
                "ATTACH '/tmp/other.duckdb' AS other", "SET threads = 1", "INSTALL spatial", "LOAD spatial",
                "INSERT INTO kept VALUES (3)", "COPY kept TO '/tmp/out.csv'", "DELETE FROM kept", "DROP TABLE kept",
                "CREATE SECRET s (TYPE s3)", "SELECT * FROM duckdb_secrets()", "SELECT * FROM ducklake_list_files('lake', 'kept')",
                "SELECT * FROM __ducklake_metadata_lake.ducklake_data_file", "SELECT * FROM __ducklake_metadata_lake.main.ducklake_snapshot",
                "CALL ducklake_expire_snapshots('lake', older_than => now())", "SELECT * FROM ducklake_cleanup_old_files('lake')",
                "SELECT * FROM query('SELECT 1')", "SELECT 1; SELECT 2",
                "SELECT database_name, path FROM duckdb_databases()",
                "SELECT * FROM duckdb_table_sample('__ducklake_metadata_lake.main.ducklake_data_file')",
                "SELECT * FROM pragma_table_info('__ducklake_metadata_lake.main.ducklake_data_file')",
                "SELECT * FROM pragma_storage_info('__ducklake_metadata_lake.main.ducklake_snapshot')",
                "SELECT * FROM \"__DuckLake_Metadata_Lake\".main.ducklake_snapshot",
            ]
            for sql in refused {
                let viaQuery = try await server.query(sql, db: "lake")
                #expect([400, 403].contains(viaQuery.status), "\(sql): \(viaQuery.text)")
                let viaTable = try await server.json(.POST, "/tables/kept/query", ["sql": sql])
                #expect([400, 403].contains(viaTable.status), "\(sql): \(viaTable.text)")
            }
            let filter = try await server.json(.POST, "/tables/kept/query", ["filter": "id IN (SELECT 1 FROM read_csv('/etc/passwd'))"])
            #expect(filter.status == 403, "\(filter.text)")
            let deleteFilter = try await server.json(.POST, "/tables/kept/delete", ["filter": "id IN (SELECT 1 FROM read_csv('/etc/passwd'))"])
            #expect(deleteFilter.status == 403, "\(deleteFilter.text)")

            // A body over the append limit: 413, nothing appended.
            let big = Data(("id\n" + (0..<1000).map(String.init).joined(separator: "\n")).utf8)
            let tooLarge = try await server.send(.PUT, "/tables/kept", contentType: "text/csv", data: big)
            #expect(tooLarge.status == 413, "\(tooLarge.text)")
            let unsupported = try await server.send(.PUT, "/tables/kept", contentType: "application/xml", data: Data("<a/>".utf8))
            #expect(unsupported.status == 415, "\(unsupported.text)")

            let after = try await server.lakeTable("kept")
            #expect(after["snapshot_id"] as? Int == snapshot && after["row_count"] as? Int == 2)
            #expect((after["columns"] as? [[String: Any]])?.count == 1)
            // Refused bodies leave no file behind.
            for directory in ["/lake/work/uploads", "/lake/work/incoming"] {
                // Removed in the background, just after the answer.
                let path = server.dataDirectory + directory
                let empty = await eventually(within: .seconds(10)) { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).isEmpty }
                #expect(empty, "\(directory): \((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])")
            }
            let listing = try await server.request(.GET, "/tables").text
            #expect(listing.contains("\"kept\"") && !listing.contains("typed"), "\(listing)")
        }
    }
}

extension LakeTableTests {
    @Test func aPartitionedTableWritesOneDirectoryPerPartition() async throws {
        try await TestServer.run(yaml: "lake:\n") { server in
            let created = try await server.json(.POST, "/tables", ["name": "visits", "partition_by": ["year(at)", "site"], "columns": [
                ["name": "site", "type": "VARCHAR"], ["name": "at", "type": "TIMESTAMP"], ["name": "n", "type": "INTEGER"],
            ]])
            #expect(created.status == 201, "\(created.text)")
            let rows: [[String: Any]] = (0..<40).map { ["site": $0 % 2 == 0 ? "a" : "b", "at": $0 < 20 ? "2024-05-01 10:00:00" : "2025-05-01 10:00:00", "n": $0] }
            #expect(try await server.json(.PUT, "/tables/visits", rows).status == 200)
            let files = try await #require(server.services.lake).dataFiles(of: "visits")
            #expect(files.count == 4, "two years × two sites: \(files)")
            #expect(files.allSatisfy { $0.contains("site=") }, "\(files)")
            let bad = try await server.json(.POST, "/tables", ["name": "v2", "partition_by": ["nope"], "columns": [["name": "site", "type": "VARCHAR"]]])
            #expect(bad.status == 400 && bad.errorCode == "invalid_partition", "\(bad.text)")
        }
    }

    @Test func theCatalogsPasswordAppearsInNoAnswer() async throws {
        let password = "duckling-test-secret"
        try await TestServer.run(yaml: try await LakeVariant.postgresCatalog.yaml()) { server in
            _ = try await server.json(.POST, "/tables", ["name": "t", "columns": [["name": "id", "type": "INTEGER"]]])
            var answers: [TestServer.Reply] = []
            for sql in ["SELECT * FROM duckdb_databases()", "SELECT * FROM __ducklake_metadata_lake.pg_catalog.pg_user", "SELECT current_setting('allowed_directories')",
                        "SELECT * FROM t WHERE nope = 1", "SELECT * FROM duckdb_tables()", "SELECT * FROM duckdb_views()", "SELECT * FROM ducklake_table_info('lake')"] {
                answers.append(try await server.query(sql, db: "lake"))
            }
            answers.append(try await server.request(.GET, "/config/summary"))
            answers.append(try await server.request(.GET, "/tables"))
            answers.append(try await server.request(.GET, "/tables/t/snapshots"))
            for answer in answers { #expect(!answer.text.contains(password), "\(answer.text.prefix(300))") }
            #expect(answers[0].status == 403)
        }
    }

    @Test func everyTableFunctionOnTheLakeIsAllowedOrRefused() async throws {
        try await TestServer.run(yaml: "lake:\n") { server in
            let lake = try #require(server.services.lake)
            let functions = try await lake.read { connection in
                try connection.query("SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type IN ('table', 'table_macro') ORDER BY 1")
                    .rows().compactMap { $0.first?.text }
            }
            // The lake's own macros (`lake.snapshots()`, …) are not listed by duckdb_functions(): each must run.
            let macros: Set<String> = ["snapshots", "table_changes", "table_insertions", "table_deletions", "current_snapshot"]
            let missing = ReadOnlyGate.lakeTableFunctions.subtracting(functions.map { $0.lowercased() }).subtracting(macros)
            #expect(missing.isEmpty, "allow-listed for the lake but unknown to DuckDB: \(missing.sorted())")
            _ = try await server.json(.POST, "/tables", ["name": "probe", "columns": [["name": "id", "type": "INTEGER"]]])
            for sql in ["SELECT count(*) FROM lake.snapshots()", "SELECT * FROM lake.current_snapshot()",
                        "SELECT count(*) FROM lake.table_changes('probe', 0, 1)", "SELECT count(*) FROM lake.table_insertions('probe', 0, 1)",
                        "SELECT count(*) FROM lake.table_deletions('probe', 0, 1)"] {
                let reply = try await server.query(sql, db: "lake", key: .readOnly)
                #expect(reply.status == 200, "\(sql): \(reply.text)")
            }
            let allowed = ReadOnlyGate.allowedTableFunctions.union(ReadOnlyGate.lakeTableFunctions).subtracting(ReadOnlyGate.deniedOnLake)
            var refused: Set<String> = []
            for function in functions where !allowed.contains(function.lowercased()) {
                let reply = try await server.query("SELECT * FROM \(SQL.quoted(function))()", db: "lake", key: .readOnly)
                #expect(reply.status == 403 && reply.errorCode == "function_not_allowed", "\(function)() on the lake: \(reply.status) \(reply.text)")
                refused.insert(function)
            }
            for dangerous in ["ducklake_list_files", "ducklake_expire_snapshots", "ducklake_cleanup_old_files", "ducklake_add_data_files",
                              "ducklake_set_option", "ducklake_merge_adjacent_files", "ducklake_flush_inlined_data", "read_parquet", "glob",
                              "duckdb_databases", "duckdb_table_sample", "pragma_table_info"] {
                #expect(refused.contains(dangerous), "\(dangerous) is not refused on the lake")
            }
        }
    }
}

extension LakeTableTests {
    @Test func cleanupMaintainsTheLake() async throws {
        try await TestServer.run(yaml: "lake:\n  data_inlining_row_limit: 0\n") { server in
            _ = try await server.json(.POST, "/tables", ["name": "logs", "columns": [["name": "id", "type": "INTEGER"]]])
            for id in 0..<6 { #expect(try await server.json(.PUT, "/tables/logs", [["id": id]]).status == 200) }
            let lake = try #require(server.services.lake)
            #expect(try await lake.dataFiles(of: "logs").count == 6)
            let reply = try await server.request(.POST, "/automation/cleanup")
            #expect(reply.status == 200, "\(reply.text)")
            let maintenance = ((try reply.json["result"] as? [String: Any])?["lake_maintenance"] as? [[String: Any]])?.first
            #expect(maintenance?["table"] as? String == "logs", "\(reply.text)")
            #expect((maintenance?["before"] as? [String: Any])?["files"] as? Int == 6)
            #expect(try await lake.dataFiles(of: "logs").count < 6)
            #expect(try await server.lakeRows("SELECT count(*)::INTEGER FROM logs").first?.first as? Int == 6)
        }
    }
}
