import DuckDBKit
@testable import DucklingCore
import DucklingTestSupport
import Foundation
import ObjectStorage
import Testing

/// Databases whose ids share a prefix (`a` and `a-b`) never touch each other's backups: listing,
/// retention and the cleanup of killed backups and uploads match names exactly.
@Suite(.serialized) struct BackupIsolationTests {
    @Test func databasesWhoseIdsShareAPrefixKeepTheirBackupsApart() async throws {
        let bucket = try await S3Test.makeBucket()
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let endpoint = try S3Test.endpoint
        let yaml = "databases:\n" + ["a", "a-b"].map { id in
            """
              \(id):
                backup:
                  local_dir: \(directory)/backups
                  keep_last: 1
                  retention_days: 7
                  s3: { bucket_url: "s3://\(bucket)/shared", endpoint: "\(endpoint)", path_style: true, encryption: client-aes256, access_key: a, secret_key: b, keep_last: 1 }
            """
        }.joined(separator: "\n")
        try await TestServer.run(yaml: yaml, environment: BackupFixture.environment()) { server in
            let a = try #require(server.services.backups["a"])
            let ab = try #require(server.services.backups["a-b"])
            for id in ["a", "a-b"] {
                let database = try #require(server.services.registry.database(id))
                try await database.withWriter { writer in try await writer.run { try $0.execute("CREATE TABLE t AS SELECT \(id == "a" ? 1 : 2) AS owner") } }
            }
            // Two backups of a-b (local and S3), then what killed ones of a-b leave behind.
            for _ in 0..<2 { #expect(try await server.request(.POST, "/automation/backup?db=a-b").status == 200) }
            let killedLocal = URL(fileURLWithPath: directory + "/backups")
                .appendingPathComponent(".backup-a-b-\(Self.stamp(Date())).partial-deadbeef")
            try FileManager.default.createDirectory(at: killedLocal, withIntermediateDirectories: true)
            try Data("half a file".utf8).write(to: killedLocal.appendingPathComponent("duckling-a-b.db"))
            let killedKey = "shared/backup-a-b-\(Self.stamp(Date().addingTimeInterval(1))).db.enc"
            try await S3Test.startUpload(bucket: bucket, key: killedKey)
            // An object of a-b that never got its manifest (its upload was killed), two days old by now.
            let orphanKey = "shared/backup-a-b-\(Self.stamp(Date().addingTimeInterval(2))).db.enc"
            try await S3Test.store(bucket: bucket).put(Data("orphan".utf8), at: orphanKey)

            // Backing up a (twice, so its retention has something to remove) cleans a's leftovers only.
            for _ in 0..<2 { #expect(try await server.request(.POST, "/automation/backup?db=a").status == 200) }
            #expect(FileManager.default.fileExists(atPath: killedLocal.path), "a's backup removed a-b's unfinished one")
            #expect(try await S3Test.openUploads(bucket: bucket, prefix: killedKey) == 1, "a's backup aborted a-b's upload")

            // Listing a shows a's backups only, locally and in S3.
            let listed = try await a.list()
            #expect(!listed.backups.isEmpty && listed.s3Error == nil)
            #expect(listed.backups.allSatisfy { BackupNaming.isBackup($0.name.replacingOccurrences(of: ".db.enc", with: ""), of: "a") }, "\(listed.backups.map(\.key))")
            let viaAPI = try await server.request(.GET, "/api/backups?db=a")
            #expect(!viaAPI.text.contains("backup-a-b-"), "\(viaAPI.text)")

            // Retention of a, a month from now, with keep_last 1: a keeps its newest; a-b loses nothing.
            let later = Date().addingTimeInterval(30 * 86_400)
            let before = try await ab.list().backups.map(\.key).sorted()
            let removedLocal = try await a.applyLocalRetention(now: later)
            let removedS3 = try await a.applyS3Retention(now: later)
            #expect(!removedLocal.isEmpty && !removedS3.isEmpty, "a's retention removed nothing: \(removedLocal) \(removedS3)")
            #expect((removedLocal + removedS3).allSatisfy { !$0.contains("backup-a-b-") }, "\(removedLocal + removedS3)")
            #expect(try await ab.list().backups.map(\.key).sorted() == before)
            #expect(try await S3Test.store(bucket: bucket).head(orphanKey) != nil, "a's retention deleted a-b's object")
            #expect(try await a.list().backups.count == 2, "a keeps its newest backup, locally and in S3")

            // a-b still restores its own data.
            #expect(try await server.request(.POST, "/automation/restore?db=a-b").status == 200)
            #expect(try await server.rows("SELECT owner FROM t", db: "a-b").first?.first as? Int == 2)
        }
    }

    private static func stamp(_ date: Date) -> String {
        String(BackupNaming.backupID(database: "", at: date).dropFirst("backup--".count))
    }
}
