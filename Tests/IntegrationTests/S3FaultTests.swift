import DuckDBKit
@testable import DucklingCore
import DucklingTestSupport
import Foundation
import ObjectStorage
import Testing

/// S3 misbehaving, through a fault proxy in front of moto: transient errors are retried, a dropped
/// connection retries its part, a permanent failure leaves nothing behind, a wrong key is final.
@Suite(.serialized) struct S3FaultTests {
    /// Uploads a backup of a ~4 MB database through a proxy started with `proxyArguments`, in 5 MiB
    /// parts once it is larger than that (TestServer.fastStoreOptions); returns the reply, the proxy's
    /// log and the bucket.
    private func upload(rows: Int = 120_000, through proxyArguments: [String]) async throws -> (TestServer.Reply, [String], String) {
        let bucket = try await S3Test.makeBucket()
        let proxy = try FaultProxy(target: try S3Test.endpoint, arguments: proxyArguments)
        defer { proxy.stop() }
        let fixture = try BackupFixture(rows: rows)
        defer { fixture.drop() }
        let reply = try await TestServer.run(yaml: try fixture.yaml(bucket: bucket, endpoint: proxy.endpoint), environment: BackupFixture.environment()) { server in
            #expect(try await SyncFixture.sync(server, "orders")["status"] as? String == "succeeded")
            return try await server.request(.POST, "/api/backups/s3")
        }
        return (reply, proxy.log, bucket)
    }

    /// What a successful upload must have left: one data object, its manifest, no open upload.
    private func expectComplete(_ reply: TestServer.Reply, bucket: String) async throws {
        #expect(reply.status == 200, "\(reply.text)")
        let key = try #require(try reply.json["key"] as? String)
        let objects = try await S3Test.store(bucket: bucket).list(prefix: "")
        #expect(Set(objects.map(\.key)) == [key, key + ".manifest.json"])
        #expect(try await S3Test.openUploads(bucket: bucket) == 0)
    }

    @Test(arguments: [503, 500, 429])
    func transientErrorsAreRetried(status: Int) async throws {
        let (reply, log, bucket) = try await upload(through: ["--fail-first", "3", "--status", String(status)])
        try await expectComplete(reply, bucket: bucket)
        #expect(log.filter { $0.hasSuffix("-> \(status)") }.count == 3, "\(log)")
    }

    @Test func aConnectionDroppedMidPartRetriesThatPart() async throws {
        let (reply, log, bucket) = try await upload(rows: 250_000, through: ["--drop-part", "2"])
        try await expectComplete(reply, bucket: bucket)
        let parts = log.filter { $0.hasPrefix("PUT") && $0.contains("partNumber=") }
        let dropped = try #require(parts.first { $0.hasSuffix("-> dropped") }, "\(log)")
        let droppedPart = dropped.components(separatedBy: "partNumber=")[1].prefix { $0.isNumber }
        // The dropped part went up again and succeeded; the others went up once.
        #expect(parts.filter { $0.contains("partNumber=\(droppedPart)&") && $0.hasSuffix("-> 200") }.count == 1, "\(parts)")
        #expect(parts.filter { $0.hasSuffix("-> 200") }.count >= 2)
    }

    @Test func aPermanentFailureLeavesNoManifestAndNoOpenUpload() async throws {
        let (reply, log, bucket) = try await upload(rows: 250_000, through: ["--fail-parts", "500"])
        #expect(reply.status == 502, "\(reply.text)")
        #expect(reply.errorCode == "backup_storage")
        #expect(reply.text.contains("after 5 attempts"), "\(reply.text)")
        #expect(log.contains { $0.hasPrefix("DELETE") && $0.contains("uploadId=") }, "the multipart upload was aborted: \(log)")
        #expect(try await S3Test.store(bucket: bucket).list(prefix: "").isEmpty)
        #expect(try await S3Test.openUploads(bucket: bucket) == 0)
    }

    @Test func signaturesAreAcceptedAndAWrongSecretFailsWithoutRetries() async throws {
        let auth = try S3Test.startAuthServer()
        let fixture = try BackupFixture(rows: 2000)
        defer { fixture.drop() }
        let good = "access_key: \(auth.accessKey)\n        secret_key: \"\(auth.secretKey)\""
        let goodYAML = try fixture.yaml(bucket: auth.bucket, endpoint: auth.endpoint, extraS3: "")
            .replacingOccurrences(of: "access_key: test-access\n        secret_key: test-secret", with: good)
        // With the right key, moto verifies every signature and the backup goes up and comes back.
        try await TestServer.run(yaml: goodYAML, environment: BackupFixture.environment()) { server in
            #expect(try await SyncFixture.sync(server, "orders")["status"] as? String == "succeeded")
            let reply = try await server.request(.POST, "/api/backups/s3")
            #expect(reply.status == 200, "\(reply.text)")
            let key = try #require(try reply.json["key"] as? String)
            #expect(try await server.post("/api/backups/s3/restore", ["key": key]).status == 200)
        }
        // With a wrong secret: an authentication error, each request sent once.
        let proxy = try FaultProxy(target: auth.endpoint, arguments: [])
        defer { proxy.stop() }
        let badYAML = try fixture.yaml(bucket: auth.bucket, endpoint: proxy.endpoint)
            .replacingOccurrences(of: "access_key: test-access\n        secret_key: test-secret",
                                  with: "access_key: \(auth.accessKey)\n        secret_key: wrong-secret")
        try await TestServer.run(yaml: badYAML, environment: BackupFixture.environment()) { server in
            #expect(try await SyncFixture.sync(server, "orders")["status"] as? String == "succeeded")
            let reply = try await server.request(.POST, "/api/backups/s3")
            #expect(reply.status == 502, "\(reply.text)")
            #expect(reply.text.contains("refused the credentials") && reply.text.contains("403"), "\(reply.text)")
            #expect(!reply.text.contains("wrong-secret"))
            let listed = try await server.request(.GET, "/api/backups")
            #expect((try listed.json["s3_error"] as? String)?.contains("403") == true, "\(listed.text)")
        }
        let requests = proxy.log.filter { !$0.hasPrefix("GET /duckling-auth?list-type") }
        #expect(Set(requests).count == requests.count, "no request was repeated: \(proxy.log)")
        #expect(requests.allSatisfy { $0.hasSuffix("-> 403") }, "\(proxy.log)")
    }
}
