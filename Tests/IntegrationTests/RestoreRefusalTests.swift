import DuckDBKit
@testable import DucklingCore
import DucklingTestSupport
import Foundation
import ObjectStorage
import Testing

/// A restore refuses, with a clear error and the live database untouched, every backup it cannot trust.
@Suite(.serialized) struct RestoreRefusalTests {
    /// Runs `body` with a server holding a synced copy and one local backup (its name); afterwards
    /// checks that the live data is still what it was before the refused restore.
    private func withBackedUpServer(rows: Int = 1500, bucket: String? = nil, key: String = BackupFixture.key,
                                    _ body: @Sendable (TestServer, String, BackupFixture) async throws -> Void) async throws {
        let fixture = try BackupFixture(rows: rows)
        defer { fixture.drop() }
        try await TestServer.run(yaml: try fixture.yaml(bucket: bucket), environment: BackupFixture.environment(key: key)) { server in
            #expect(try await SyncFixture.sync(server, "orders")["status"] as? String == "succeeded")
            let created = try await server.request(.POST, "/automation/backup")
            let name = try #require(try created.json["backup"] as? String, "\(created.text)")
            // The live copy moves on after the backup, so a wrong restore would show.
            try fixture.insert(100)
            #expect(try await SyncFixture.sync(server, "orders")["status"] as? String == "succeeded")
            let live = try await BackupFixture.state(server)
            try await body(server, name, fixture)
            #expect(try await BackupFixture.state(server) == live, "the live database changed")
            #expect(try await server.query("SELECT 1").status == 200)
        }
    }

    private func expectRefused(_ reply: TestServer.Reply, status: Int, code: String, containing text: String) {
        #expect(reply.status == status, "\(reply.text)")
        #expect(reply.errorCode == code, "\(reply.text)")
        #expect(reply.text.contains(text), "\(reply.text)")
    }

    private func rewriteManifest(_ directory: URL, _ change: (inout BackupManifest) -> Void) throws {
        let url = directory.appendingPathComponent("manifest.json")
        var manifest = try BackupManifest.decode(try Data(contentsOf: url), from: url.path)
        change(&manifest)
        try manifest.encoded().write(to: url)
    }

    private func sha256(_ url: URL) throws -> String {
        let hasher = SHA256Hasher()
        try Data(contentsOf: url).withUnsafeBytes { hasher.update($0) }
        return hasher.hexDigest()
    }

    @Test func aFlippedByteInALocalBackupIsRefused() async throws {
        try await withBackedUpServer { server, name, _ in
            let file = BackupFixture.localBackupDirectory(server, name).appendingPathComponent("duckling-default.db")
            var bytes = try Data(contentsOf: file)
            bytes[bytes.count / 2] ^= 0x10
            try bytes.write(to: file)
            expectRefused(try await server.request(.POST, "/automation/restore?name=\(name)"), status: 422, code: "backup_corrupt", containing: "checksum")
            // Re-verification finds it too, and from then on it no longer counts as good.
            let verify = try await server.request(.POST, "/api/backups/verify")
            let verified = try verify.json["success"] as? Bool
            #expect(verify.status == 200 && verified == false, "\(verify.text)")
            let listed = try await BackupFixture.backups(server)
            #expect(listed.first?["verified"] as? Bool == false)
            expectRefused(try await server.request(.POST, "/automation/restore"), status: 404, code: "backup_notFound", containing: "no verified local backup")
        }
    }

    @Test func aMissingOrMismatchedManifestIsRefused() async throws {
        try await withBackedUpServer { server, name, _ in
            let directory = BackupFixture.localBackupDirectory(server, name)
            try rewriteManifest(directory) { manifest in
                manifest.tables = manifest.tables.map { $0.table == "orders" ? .init(schema: $0.schema, table: $0.table, rows: $0.rows + 1) : $0 }
            }
            expectRefused(try await server.request(.POST, "/automation/restore?name=\(name)"), status: 422, code: "backup_verification", containing: "row counts differ")
            try FileManager.default.removeItem(at: directory.appendingPathComponent("manifest.json"))
            expectRefused(try await server.request(.POST, "/automation/restore?name=\(name)"), status: 404, code: "backup_notFound", containing: "without its manifest")
            #expect(try await BackupFixture.backups(server).isEmpty, "a backup without a manifest is not listed")
        }
    }

    @Test func aBackupFromANewerStorageVersionIsRefused() async throws {
        try await withBackedUpServer { server, name, _ in
            let directory = BackupFixture.localBackupDirectory(server, name)
            let file = directory.appendingPathComponent("duckling-default.db")
            var bytes = try Data(contentsOf: file)
            bytes[12] = bytes[12] &+ 1 // the storage version, little-endian at offset 12
            try bytes.write(to: file)
            let digest = try sha256(file)
            try rewriteManifest(directory) { $0.sha256 = digest }
            expectRefused(try await server.request(.POST, "/automation/restore?name=\(name)"), status: 422, code: "backup_unsupported", containing: "newer than this DuckDB")
            // A manifest that says so is refused before anything is copied.
            try rewriteManifest(directory) { $0.storageVersion += 1 }
            expectRefused(try await server.request(.POST, "/automation/restore?name=\(name)"), status: 422, code: "backup_unsupported", containing: "storage version")
        }
    }

    @Test func s3ObjectsThatAreAlteredTruncatedOrUnderAnotherKeyAreRefused() async throws {
        let bucket = try await S3Test.makeBucket()
        try await withBackedUpServer(bucket: bucket) { server, _, _ in
            let uploaded = try await server.request(.POST, "/api/backups/s3")
            let key = try #require(try uploaded.json["key"] as? String, "\(uploaded.text)")
            let store = try S3Test.store(bucket: bucket)
            let original = try await store.get(key)
            let manifestKey = key + ".manifest.json"
            let manifest = try BackupManifest.decode(try await store.get(manifestKey), from: key)

            // One flipped byte, same size: the chunk fails authentication.
            var flipped = original
            flipped[flipped.count / 2] ^= 0x01
            try await store.put(flipped, at: key)
            expectRefused(try await server.post("/api/backups/s3/restore", ["key": key]), status: 422, code: "backup_corrupt", containing: "failed authentication")

            // Cut at a chunk boundary: the size no longer matches the manifest…
            let boundary = BackupCipher.headerSize + BackupCipher.chunkSize + BackupCipher.tagSize
            try #require(original.count > boundary)
            try await store.put(original.prefix(boundary), at: key)
            expectRefused(try await server.post("/api/backups/s3/restore", ["key": key]), status: 422, code: "backup_corrupt", containing: "truncated")
            // …and with a manifest rewritten to match, the missing final chunk gives it away.
            var shortened = manifest
            shortened.object = .init(key: key, size: Int64(boundary))
            try await store.put(try shortened.encoded(), at: manifestKey)
            expectRefused(try await server.post("/api/backups/s3/restore", ["key": key]), status: 422, code: "backup_corrupt", containing: "truncated")

            // A manifest that does not match the object's contents.
            try await store.put(original, at: key)
            var wrongDigest = manifest
            wrongDigest.sha256 = String(repeating: "0", count: 64)
            try await store.put(try wrongDigest.encoded(), at: manifestKey)
            expectRefused(try await server.post("/api/backups/s3/restore", ["key": key]), status: 422, code: "backup_corrupt", containing: "checksum")

            // No manifest at all: the backup does not exist.
            try await store.delete(manifestKey)
            expectRefused(try await server.post("/api/backups/s3/restore", ["key": key]), status: 404, code: "backup_notFound", containing: "no manifest")
            let listed = try await BackupFixture.backups(server)
            #expect(!listed.contains { $0["key"] as? String == key }, "\(listed)")

            // Bad input: a key that is not a backup object.
            expectRefused(try await server.post("/api/backups/s3/restore", ["key": "../../etc/passwd"]), status: 404, code: "backup_notFound", containing: "not a backup object key")
            expectRefused(try await server.post("/api/backups/s3/restore", [:]), status: 400, code: "invalid_request", containing: "key")
        }
    }

    @Test func aWrongKeyIsRefused() async throws {
        let bucket = try await S3Test.makeBucket()
        let fixture = try BackupFixture(rows: 500)
        defer { fixture.drop() }
        let key: String = try await TestServer.run(yaml: try fixture.yaml(bucket: bucket), environment: BackupFixture.environment()) { server in
            #expect(try await SyncFixture.sync(server, "orders")["status"] as? String == "succeeded")
            let uploaded = try await server.request(.POST, "/api/backups/s3")
            return try #require(try uploaded.json["key"] as? String, "\(uploaded.text)")
        }
        let otherKey = Data((0..<32).map { UInt8(255 - $0) }).base64EncodedString()
        try await TestServer.run(yaml: try fixture.yaml(bucket: bucket), environment: BackupFixture.environment(key: otherKey)) { server in
            #expect(try await SyncFixture.sync(server, "orders")["status"] as? String == "succeeded")
            let live = try await BackupFixture.state(server)
            expectRefused(try await server.post("/api/backups/s3/restore", ["key": key]), status: 422, code: "backup_wrongKey", containing: "key does not match")
            #expect(try await BackupFixture.state(server) == live)
        }
    }

    @Test func aDiskWithoutRoomIsRefusedBeforeAnythingIsWritten() async throws {
        let mountPoint = FileManager.default.temporaryDirectory.appendingPathComponent("duckling-small-disk-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mounted = try run("/bin/mount", ["-t", "tmpfs", "-o", "size=48m", "tmpfs", mountPoint])
        try #require(mounted.status == 0, "this test needs a small tmpfs (run as root): \(mounted.stderr)")
        defer {
            _ = try? run("/bin/umount", [mountPoint])
            try? FileManager.default.removeItem(atPath: mountPoint)
        }
        let fixture = try BackupFixture(rows: 400_000)
        defer { fixture.drop() }
        let yaml = try fixture.yaml().replacingOccurrences(of: "  default:\n", with: "  default:\n    path: \(mountPoint)/duckling-default.db\n")
        try await TestServer.run(yaml: yaml, environment: BackupFixture.environment()) { server in
            #expect(try await SyncFixture.sync(server, "orders")["status"] as? String == "succeeded")
            #expect(try await server.request(.POST, "/automation/backup").status == 200)
            let live = try await BackupFixture.state(server)
            let before = try FileManager.default.contentsOfDirectory(atPath: mountPoint).sorted()
            let reply = try await server.request(.POST, "/automation/restore")
            expectRefused(reply, status: 507, code: "backup_noSpace", containing: "not enough disk space")
            #expect(try FileManager.default.contentsOfDirectory(atPath: mountPoint).sorted() == before, "nothing is left on the small disk")
            #expect(try await BackupFixture.state(server) == live)
        }
    }
}
