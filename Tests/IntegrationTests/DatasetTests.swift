import DucklingTestSupport
import Foundation
import Testing

/// Dataset buckets and objects (DESIGN.md §9) on the local directory and on moto S3.
@Suite(.serialized) struct DatasetTests {
    enum Store: String, CaseIterable, CustomTestStringConvertible {
        case local, s3
        var testDescription: String { rawValue }

        func yaml() async throws -> String {
            switch self {
            case .local: return "lake:\n"
            case .s3:
                let bucket = try await S3Test.makeBucket()
                return "lake:\n  datasets: s3://\(bucket)/datasets\n" + LakeFixture.s3Block + "\n"
            }
        }
    }

    @Test(arguments: Store.allCases)
    func bucketsAndObjectsRoundTripWithRangesPagingAndImports(store: Store) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // 12 MiB: several parts on S3 (5 MiB parts in tests).
        let big = URL(fileURLWithPath: directory + "/big.bin")
        var pattern = Data(count: 12 << 20)
        pattern.withUnsafeMutableBytes { buffer in for index in 0..<buffer.count { buffer[index] = UInt8(truncatingIfNeeded: index &* 31 &+ index >> 12) } }
        try pattern.write(to: big)
        let bytes = pattern
        let files = try LakeFixture.writeFiles(rows: 500, to: directory, select: "i::INTEGER AS id, 'name ' || i AS name")

        try await TestServer.run(yaml: try await store.yaml()) { server in
            #expect(try await server.request(.POST, "/datasets/raw-data").status == 201)
            #expect(try await server.request(.POST, "/datasets/raw-data").status == 409)
            #expect(try await server.request(.GET, "/datasets/no-such-bucket").status == 404)

            let put = try await server.send(.PUT, "/datasets/raw-data/blobs/big.bin", contentType: "application/octet-stream", file: big)
            #expect(put.status == 201, "\(put.text)")
            let object = try #require(try put.json["object"] as? [String: Any])
            #expect(object["key"] as? String == "blobs/big.bin" && object["size"] as? Int == 12 << 20)
            #expect((object["etag"] as? String)?.isEmpty == false)

            let whole = try await server.request(.GET, "/datasets/raw-data/blobs/big.bin")
            #expect(whole.status == 200 && whole.body == bytes)
            let middle = try await server.request(.GET, "/datasets/raw-data/blobs/big.bin", headers: [("Range", "bytes=1000-1999")])
            #expect(middle.status == 206 && middle.body == bytes[1000..<2000])
            #expect(middle.headers.first(name: "content-range") == "bytes 1000-1999/\(12 << 20)")
            let tail = try await server.request(.GET, "/datasets/raw-data/blobs/big.bin", headers: [("Range", "bytes=-10")])
            #expect(tail.status == 206 && tail.body == bytes.suffix(10))
            let beyond = try await server.request(.GET, "/datasets/raw-data/blobs/big.bin", headers: [("Range", "bytes=\(13 << 20)-")])
            #expect(beyond.status == 416)

            for index in 0..<5 {
                _ = try await server.send(.PUT, "/datasets/raw-data/logs/day-\(index).txt", contentType: "text/plain", data: Data("log \(index)".utf8))
            }
            let first = try await server.request(.GET, "/datasets/raw-data?prefix=logs/&limit=3")
            let firstKeys = (try first.json["objects"] as? [[String: Any]])?.compactMap { $0["key"] as? String }
            #expect(firstKeys == ["logs/day-0.txt", "logs/day-1.txt", "logs/day-2.txt"], "\(first.text)")
            let next = try #require(try first.json["next"] as? String)
            let second = try await server.request(.GET, "/datasets/raw-data?prefix=logs/&limit=3&start_after=\(next)")
            #expect((try second.json["objects"] as? [[String: Any]])?.compactMap { $0["key"] as? String } == ["logs/day-3.txt", "logs/day-4.txt"])
            let after = try second.json["next"]
            #expect(after == nil || after is NSNull)

            // An object imported into a table without passing through the client.
            #expect(try await server.send(.PUT, "/datasets/raw-data/people.parquet", contentType: "application/octet-stream", file: files["parquet"]).status == 201)
            #expect(try await server.send(.PUT, "/datasets/raw-data/people.csv", contentType: "text/csv", file: files["csv"]).status == 201)
            _ = try await server.json(.POST, "/tables", ["name": "people", "columns": [["name": "id", "type": "INTEGER"], ["name": "name", "type": "VARCHAR"]]])
            let fromParquet = try await server.json(.POST, "/tables/people/import", ["bucket": "raw-data", "object": "people.parquet"])
            let parquetRows = (try fromParquet.json["append"] as? [String: Any])?["rows"] as? Int
            #expect(fromParquet.status == 200 && parquetRows == 500, "\(fromParquet.text)")
            let fromCSV = try await server.json(.POST, "/tables/people/import", ["bucket": "raw-data", "object": "people.csv"])
            let csvRows = (try fromCSV.json["append"] as? [String: Any])?["rows"] as? Int
            #expect(fromCSV.status == 200 && csvRows == 500, "\(fromCSV.text)")
            #expect(try await server.lakeRows("SELECT count(DISTINCT id)::INTEGER, count(*)::INTEGER FROM people").first?.compactMap { $0 as? Int } == [500, 1000])
            let missing = try await server.json(.POST, "/tables/people/import", ["bucket": "raw-data", "object": "nope.csv"])
            #expect(missing.status == 404, "\(missing.text)")

            // Each import is a lineage run: the object in, the table out with its schema and rows;
            // a failed append's FAIL names the request body, not the temporary file.
            let imports = try await server.request(.GET, "/jobs/lake.import.people/runs").json["runs"] as? [[String: Any]] ?? []
            #expect(imports.compactMap { $0["state"] as? String } == ["COMPLETE", "COMPLETE"], "\(imports)")
            let importRun = try await server.request(.GET, "/jobs/lake.import.people/runs/\(imports.last?["run_id"] as? String ?? "")").json
            let complete = try #require((importRun["events"] as? [[String: Any]])?.last)
            let input = (complete["inputs"] as? [[String: Any]])?.first
            #expect(input?["namespace"] as? String == "duckling://duckling/datasets" && input?["name"] as? String == "raw-data/people.parquet", "\(complete)")
            let output = try #require((complete["outputs"] as? [[String: Any]])?.first)
            #expect(output["namespace"] as? String == "duckling://duckling/lake" && output["name"] as? String == "main.people", "\(output)")
            #expect(((output["outputFacets"] as? [String: Any])?["outputStatistics"] as? [String: Any])?["rowCount"] as? Int == 500)
            let fields = ((output["facets"] as? [String: Any])?["schema"] as? [String: Any])?["fields"] as? [[String: Any]]
            #expect(fields?.compactMap { $0["name"] as? String } == ["id", "name"] && fields?.first?["type"] as? String == "INTEGER", "\(output)")
            let bad = try await server.send(.PUT, "/tables/people", contentType: "text/csv", data: Data("id,name\nnot-a-number,x\n".utf8))
            #expect(bad.status == 400, "\(bad.text)")
            let appends = try await server.request(.GET, "/jobs/lake.append.people/runs").json["runs"] as? [[String: Any]] ?? []
            let failed = try await server.request(.GET, "/jobs/lake.append.people/runs/\(appends.first?["run_id"] as? String ?? "")").json
            let failure = ((((failed["events"] as? [[String: Any]])?.last?["run"] as? [String: Any])?["facets"] as? [String: Any])?["errorMessage"] as? [String: Any])?["message"] as? String
            #expect(failed["state"] as? String == "FAIL" && failure?.contains("the request body") == true, "\(failed)")
            #expect(failure?.contains("/uploads/") == false, "\(failure ?? "")")

            // A prefix is not an object: no download, no delete of what is under it.
            #expect(try await server.request(.GET, "/datasets/raw-data/logs").status == 404)
            #expect(try await server.request(.DELETE, "/datasets/raw-data/logs").status == 404)
            #expect(try await server.request(.GET, "/datasets/raw-data/logs/day-1.txt").text == "log 1")

            // Deleting: a bucket only when empty, unless forced.
            #expect(try await server.request(.DELETE, "/datasets/raw-data").status == 409)
            #expect(try await server.request(.DELETE, "/datasets/raw-data/logs/day-0.txt").status == 200)
            #expect(try await server.request(.GET, "/datasets/raw-data/logs/day-0.txt").status == 404)
            let forced = try await server.request(.DELETE, "/datasets/raw-data?force=true")
            let deletedObjects = try forced.json["deleted_objects"] as? Int
            #expect(forced.status == 200 && deletedObjects == 7, "\(forced.text)")
            #expect(try await server.request(.GET, "/datasets/raw-data").status == 404)
        }
    }

    @Test(arguments: Store.allCases)
    func badBucketNamesAndKeysThatLeaveTheirBucketAreRefused(store: Store) async throws {
        try await TestServer.run(yaml: try await store.yaml() + "  max_append_bytes: 4096\n") { server in
            for name in ["AB", "ab", "a..b", "-abc", "abc-", "192.168.1.1", "xn--abc", "under_score", "abc-s3alias", "has.-dash", String(repeating: "a", count: 64)] {
                let reply = try await server.request(.POST, "/datasets/\(name)")
                #expect(reply.status == 400 && reply.errorCode == "invalid_bucket", "\(name): \(reply.status) \(reply.text)")
            }
            #expect(try await server.request(.POST, "/datasets/safe-bucket").status == 201)
            // A percent-encoded key means its decoded form.
            #expect(try await server.send(.PUT, "/datasets/safe-bucket/caf%C3%A9", contentType: "text/plain", data: Data("x".utf8)).status == 400)
            #expect(try await server.send(.PUT, "/datasets/safe-bucket/a%2Bb", contentType: "text/plain", data: Data("plus".utf8)).status == 201)
            #expect(try await server.request(.GET, "/datasets/safe-bucket/a+b").text == "plus")
            #expect(try await server.request(.DELETE, "/datasets/safe-bucket/a+b").status == 200)
            #expect(try await server.request(.POST, "/datasets/other-bucket").status == 201)
            _ = try await server.send(.PUT, "/datasets/other-bucket/secret.txt", contentType: "text/plain", data: Data("other".utf8))
            for key in ["../other-bucket/secret.txt", "%2e%2e/other-bucket/secret.txt", "a/%2E%2E/b", "a%2fb", "%2Fetc/passwd", "a%00b",
                        ".bucket", "dir/./x", "a%5cb", "with%20space", ".hidden/x"] {
                let put = try await server.send(.PUT, "/datasets/safe-bucket/\(key)", contentType: "text/plain", data: Data("x".utf8))
                #expect([400, 404].contains(put.status), "PUT \(key): \(put.status) \(put.text)")
                let get = try await server.request(.GET, "/datasets/safe-bucket/\(key)")
                #expect([400, 404].contains(get.status) && get.text != "other", "GET \(key): \(get.status) \(get.text)")
            }
            // Nothing landed anywhere, and the other bucket is untouched.
            let listing = try await server.request(.GET, "/datasets/safe-bucket")
            #expect((try listing.json["objects"] as? [[String: Any]])?.isEmpty == true, "\(listing.text)")
            #expect(try await server.request(.GET, "/datasets/other-bucket/secret.txt").text == "other")

            let tooLarge = try await server.send(.PUT, "/datasets/safe-bucket/big.bin", contentType: "application/octet-stream", data: Data(count: 10_000))
            #expect(tooLarge.status == 413)
            #expect(try await server.request(.GET, "/datasets/safe-bucket/big.bin").status == 404)
        }
    }
}
