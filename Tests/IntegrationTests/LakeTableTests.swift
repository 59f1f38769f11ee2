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
        }
    }
}
