import AsyncHTTPClient
import DucklingTestSupport
import Foundation
import Logging
import ObjectStorage
import Testing

/// The S3 client against moto: paged listings, resumed downloads, deletes and missing objects.
@Suite(.serialized) struct S3StoreTests {
    private func store(_ bucket: String, endpoint: String, pageSize: Int = 1000) throws -> S3Store {
        var options = TestServer.fastStoreOptions
        options.listPageSize = pageSize
        return S3Store(endpoint: try #require(URL(string: endpoint)), bucket: bucket, region: "us-east-1",
                       credentials: S3Credentials(accessKey: "test", secretKey: "test"), pathStyle: true,
                       client: HTTPClient.shared, options: options, logger: Logger(label: "duckling.test.s3"))
    }

    @Test func listingsArePagedAndKeysWithOddCharactersSurvive() async throws {
        let bucket = try await S3Test.makeBucket()
        let store = try store(bucket, endpoint: try S3Test.endpoint, pageSize: 2)
        let keys = ["p/a", "p/b=c", "p/d&e", "p/f+g", "p/x:y~z", "q/other"]
        for key in keys { try await store.put(Data(key.utf8), at: key) }
        let listed = try await store.list(prefix: "p/")
        #expect(listed.map(\.key) == ["p/a", "p/b=c", "p/d&e", "p/f+g", "p/x:y~z"])
        #expect(listed.allSatisfy { $0.size > 0 && $0.lastModified != nil })
        #expect(try await store.get("p/d&e") == Data("p/d&e".utf8))
        #expect(try await store.head("p/x:y~z")?.size == Int64("p/x:y~z".utf8.count))
        // Keys that could escape the prefix or be read two ways are refused before any request.
        for bad in ["p/b c", "../p", "p//a", "p/ü"] {
            let error = await #expect(throws: ObjectStoreError.self) { try await store.put(Data(), at: bad) }
            #expect(error?.kind == .invalidRequest)
        }
        try await store.delete("p/a")
        try await store.delete("p/a") // deleting what is gone is fine
        #expect(try await store.head("p/a") == nil)
        await #expect(throws: ObjectStoreError.self) { try await store.get("p/a") }
    }

    @Test func aDownloadCutOffMidBodyResumesWithARange() async throws {
        let bucket = try await S3Test.makeBucket()
        let direct = try store(bucket, endpoint: try S3Test.endpoint)
        var generator = SystemRandomNumberGenerator()
        let payload = Data((0..<3_000_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
        try await direct.put(payload, at: "big.bin")
        let proxy = try FaultProxy(target: try S3Test.endpoint, arguments: ["--drop-get", "1"])
        defer { proxy.stop() }
        let target = FileManager.default.temporaryDirectory.appendingPathComponent("resumed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: target) }
        try await store(bucket, endpoint: proxy.endpoint).download("big.bin", to: target, progress: nil)
        #expect(try Data(contentsOf: target) == payload)
        let gets = proxy.log.filter { $0.hasPrefix("GET /\(bucket)/big.bin") }
        #expect(gets.count == 2, "\(proxy.log)")
        #expect(gets.first?.hasSuffix("-> dropped") == true)
        #expect(gets.last?.contains("range=bytes=") == true && gets.last?.hasSuffix("-> 206") == true, "\(gets)")
    }
}
