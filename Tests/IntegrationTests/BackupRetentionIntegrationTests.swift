@testable import DucklingCore
import DucklingTestSupport
import Foundation
import Testing

/// Retention on real backup directories: with only one verified backup among failed ones, nothing good goes.
@Suite(.serialized) struct BackupRetentionIntegrationTests {
    @Test func retentionKeepsTheOnlyVerifiedBackupAmongFailedOnes() async throws {
        let fixture = try BackupFixture(rows: 300)
        defer { fixture.drop() }
        let yaml = try fixture.yaml().replacingOccurrences(of: "keep_last: 3", with: "keep_last: 1\n      retention_days: 7")
        try await TestServer.run(yaml: yaml, environment: BackupFixture.environment()) { server in
            #expect(try await SyncFixture.sync(server, "orders")["status"] as? String == "succeeded")
            let service = try #require(server.services.backups["default"])
            var names: [String] = []
            for _ in 0..<3 {
                names.append(try await service.createLocal().backupID)
            }
            // The two newest are damaged and fail re-verification; only the oldest stays good.
            for name in names.dropFirst() {
                let file = BackupFixture.localBackupDirectory(server, name).appendingPathComponent("duckling-default.db")
                var bytes = try Data(contentsOf: file)
                bytes[bytes.count - 100] ^= 0xFF
                try bytes.write(to: file)
            }
            let results = try await service.verify()
            #expect(results.filter(\.verified).map(\.name) == [names[0]], "\(results)")
            // A partial backup a crash left is not a backup either.
            let partial = URL(fileURLWithPath: server.dataDirectory).appendingPathComponent("backups/.backup-default-x.partial-dead")
            try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: true)

            let removed = try await service.applyLocalRetention(now: Date().addingTimeInterval(86_400 * 30))
            #expect(Set(removed) == Set(names.dropFirst()), "\(removed)")
            let left = try await BackupFixture.backups(server)
            #expect(left.map { $0["key"] as? String } == [names[0]])
            #expect(left.first?["verified"] as? Bool == true)
            // And the one good backup still restores.
            #expect(try await server.request(.POST, "/automation/restore").status == 200)
        }
    }

    @Test func s3RetentionKeepsTheNewestAndRemovesOrphans() async throws {
        let bucket = try await S3Test.makeBucket()
        let fixture = try BackupFixture(rows: 300)
        defer { fixture.drop() }
        let yaml = try fixture.yaml(bucket: bucket, extraS3: "keep_last: 1")
        try await TestServer.run(yaml: yaml, environment: BackupFixture.environment()) { server in
            #expect(try await SyncFixture.sync(server, "orders")["status"] as? String == "succeeded")
            let service = try #require(server.services.backups["default"])
            var keys: [String] = []
            for _ in 0..<3 { keys.append(try await service.uploadToS3()) }
            let store = try S3Test.store(bucket: bucket)
            // An object whose manifest never arrived (a killed upload).
            try await store.put(Data("half".utf8), at: "duckling/backup-default-2020-01-01T00-00-00.000Z.db.enc")
            #expect(try await store.list(prefix: "").count == 7, "young backups are all kept")

            let removed = try await service.applyS3Retention(now: Date().addingTimeInterval(86_400 * 30))
            #expect(Set(removed) == Set(keys.prefix(2) + ["duckling/backup-default-2020-01-01T00-00-00.000Z.db.enc"]), "\(removed)")
            #expect(Set(try await store.list(prefix: "").map(\.key)) == [keys[2], keys[2] + ".manifest.json"])
            let listed = try await BackupFixture.backups(server).filter { $0["location"] as? String == "s3" }
            #expect(listed.map { $0["key"] as? String } == [keys[2]])
        }
    }
}
