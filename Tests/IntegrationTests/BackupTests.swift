import DuckDBKit
@testable import DucklingCore
import DucklingTestSupport
import Foundation
import ObjectStorage
import Testing

/// Backups and restores end to end through the API (DESIGN.md §7), against real PostgreSQL and moto.
@Suite(.serialized) struct BackupTests {
    @Test func aLocalBackupRestoresTheSameRowsAndWatermarks() async throws {
        let fixture = try BackupFixture(rows: 2000)
        defer { fixture.drop() }
        try await TestServer.run(yaml: try fixture.yaml(), environment: BackupFixture.environment()) { server in
            #expect(try await SyncFixture.sync(server, "orders")["status"] as? String == "succeeded")
            let before = try await BackupFixture.state(server)
            #expect(before.rows == 2000)

            let created = try await server.request(.POST, "/automation/backup")
            #expect(created.status == 200, "\(created.text)")
            #expect(try created.json["message"] as? String == "Manual backup completed successfully")
            let name = try #require(try created.json["backup"] as? String)

            // The backup directory holds the copy and a manifest with counts and watermarks, and no secret.
            let directory = BackupFixture.localBackupDirectory(server, name)
            let manifestText = try String(contentsOf: directory.appendingPathComponent("manifest.json"), encoding: .utf8)
            let manifest = try BackupManifest.decode(Data(manifestText.utf8), from: name)
            #expect(manifest.tables.contains { $0.table == "orders" && $0.rows == 2000 })
            #expect(manifest.watermarks.first?.value == before.watermark)
            #expect(manifest.verifiedAt != nil)
            #expect(!manifestText.contains(BackupFixture.key) && !manifestText.contains("duckling-test-secret"))

            // The copy moves on, then the restore brings back exactly what was backed up.
            try fixture.insert(500)
            #expect(try await SyncFixture.sync(server, "orders")["status"] as? String == "succeeded")
            #expect(try await BackupFixture.state(server).rows == 2500)
            let restored = try await server.request(.POST, "/automation/restore")
            #expect(restored.status == 200, "\(restored.text)")
            #expect(try restored.json["message"] as? String == "Restore from backup completed successfully")
            #expect(try await BackupFixture.state(server) == before)
            let status = try await SyncFixture.status(server, "orders")
            #expect(status["rows"] as? Int == 2000, "the sync state is read again from the restored file: \(status)")

            // The next sync carries on from the restored watermark.
            let next = try await SyncFixture.sync(server, "orders")
            #expect(next["status"] as? String == "succeeded" && next["sync_type"] as? String == "incremental", "\(next)")
            #expect(try await BackupFixture.state(server).rows == 2500)

            let listed = try await BackupFixture.backups(server)
            #expect(listed.count == 1)
            #expect(listed.first?["location"] as? String == "local" && listed.first?["key"] as? String == name)
            #expect(listed.first?["verified"] as? Bool == true && (listed.first?["size"] as? Int ?? 0) > 0)
        }
    }

    @Test func anEncryptedS3BackupRestoresTheSameRowsAndIsListed() async throws {
        let fixture = try BackupFixture(rows: 3000)
        defer { fixture.drop() }
        let bucket = try await S3Test.makeBucket()
        try await TestServer.run(yaml: try fixture.yaml(bucket: bucket), environment: BackupFixture.environment()) { server in
            #expect(try await SyncFixture.sync(server, "orders")["status"] as? String == "succeeded")
            let before = try await BackupFixture.state(server)

            let uploaded = try await server.request(.POST, "/api/backups/s3")
            #expect(uploaded.status == 200, "\(uploaded.text)")
            let key = try #require(try uploaded.json["key"] as? String)
            #expect(key.hasPrefix("duckling/backup-default-") && key.hasSuffix(".db.enc"))
            #expect(try uploaded.json["message"] as? String == "Backup uploaded to S3: \(key)")

            // The object is ciphertext: the DuckDB magic is not in it, the manifest says how it was sealed.
            let store = try S3Test.store(bucket: bucket)
            let object = try await store.get(key)
            #expect(object.prefix(8) == Data("DUCKLENC".utf8))
            #expect(object.range(of: Data("DUCK".utf8), in: 8..<min(object.count, 4096)) == nil)
            let manifest = try BackupManifest.decode(try await store.get(key + ".manifest.json"), from: key)
            #expect(manifest.encryption?.algorithm == "AES-256-GCM" && manifest.object?.size == Int64(object.count))
            #expect(try await S3Test.openUploads(bucket: bucket) == 0)

            let listed = try await BackupFixture.backups(server)
            #expect(Set(listed.compactMap { $0["location"] as? String }) == ["local", "s3"], "\(listed)")
            #expect(listed.contains { $0["key"] as? String == key && $0["verified"] as? Bool == true })

            try fixture.insert(700)
            #expect(try await SyncFixture.sync(server, "orders")["status"] as? String == "succeeded")
            let restored = try await server.post("/api/backups/s3/restore", ["key": key])
            #expect(restored.status == 200, "\(restored.text)")
            #expect(try restored.json["message"] as? String == "Database restored from S3 backup successfully")
            #expect(try await BackupFixture.state(server) == before)
        }
    }

    @Test func aBackupWhileASyncWritesAndEightClientsQueryHasNoQueryErrors() async throws {
        let fixture = try BackupFixture(rows: 200_000)
        defer { fixture.drop() }
        try await TestServer.run(yaml: try fixture.yaml(), environment: BackupFixture.environment()) { server in
            #expect(try await SyncFixture.sync(server, "orders")["status"] as? String == "succeeded")
            let stop = ManagedAtomicFlag()
            let (backupReply, queryResults, syncs) = try await withThrowingTaskGroup(of: Void.self) { group in
                let results = QueryTally()
                for _ in 0..<8 {
                    group.addTask {
                        while !stop.isSet {
                            let reply = try await server.query("SELECT count(*), sum(amount) FROM orders WHERE id % 7 = 3")
                            results.record(reply.status)
                        }
                    }
                }
                let syncCount = QueryTally()
                group.addTask {
                    while !stop.isSet {
                        let result = try await SyncFixture.sync(server, "orders", full: true)
                        syncCount.record(result["status"] as? String == "succeeded" ? 200 : 500)
                    }
                }
                // The backup starts once the clients are answered and a sync has gone through...
                let loaded = await eventually { results.count(200) >= 16 && syncCount.count(200) >= 1 }
                let before = results.count(200)
                let reply = try await server.request(.POST, "/automation/backup")
                // Queries were answered while the backup ran, and the load goes on after it.
                let during = results.count(200) - before
                let answered = results.count(200)
                let after = await eventually { results.count(200) >= answered + 16 }
                stop.set()
                #expect(loaded && after, "the load did not run around the backup")
                #expect(during > 0, "no query was answered while the backup ran")
                try await group.waitForAll()
                return (reply, results, syncCount)
            }
            #expect(backupReply.status == 200, "\(backupReply.text)")
            #expect(queryResults.count(200) > 8 && queryResults.others == 0, "query statuses: \(queryResults.summary)")
            #expect(syncs.count(200) >= 1 && syncs.others == 0, "syncs: \(syncs.summary)")

            // The backup restores to a consistent state: the copy holds what its sync state says.
            let restored = try await server.request(.POST, "/automation/restore")
            #expect(restored.status == 200, "\(restored.text)")
            let state = try await BackupFixture.state(server)
            #expect(state.rows == 200_000)
            let recorded = try await SyncFixture.copyRows(server, "SELECT \"rows\" FROM _duckling.sync_datasets WHERE dataset = 'orders'")
            #expect(recorded.first?.first == .bigint(state.rows))
        }
    }

    @Test func queriesDuringTheSwapGet503WithARetryHintAndTheRunningOneFinishes() async throws {
        let fixture = try BackupFixture(rows: 1000)
        defer { fixture.drop() }
        try await TestServer.run(yaml: try fixture.yaml(), environment: BackupFixture.environment()) { server in
            #expect(try await SyncFixture.sync(server, "orders")["status"] as? String == "succeeded")
            #expect(try await server.request(.POST, "/automation/backup").status == 200)
            try await withThrowingTaskGroup(of: Void.self) { group in
                // A slow query holds a read connection: the swap waits for it, refusing new work meanwhile.
                group.addTask {
                    let slow = try await server.query("SELECT count(*) FROM range(600000000) t(x) WHERE x % 3 = 1", timeout: .seconds(120))
                    #expect(slow.status == 200, "\(slow.text)")
                    #expect(slow.text.contains("200000000"))
                }
                let database = try #require(server.services.registry.database("default"))
                #expect(await eventually { database.poolUsage?.inUse == 1 }, "the slow query did not start")
                group.addTask {
                    let restored = try await server.request(.POST, "/automation/restore")
                    #expect(restored.status == 200, "\(restored.text)")
                }
                // The restore has taken the database out of service and waits for the slow query.
                #expect(await eventually { !database.isOpen }, "the restore did not start")
                let during = try await server.query("SELECT count(*) FROM orders")
                #expect(during.status == 503, "\(during.text)")
                #expect(during.headers.first(name: "Retry-After") != nil)
                #expect(during.errorCode == "database_unavailable")
                let sync = try await server.request(.POST, "/api/store/sync/orders")
                #expect(sync.status == 503, "\(sync.text)")
                // One backup or restore of a database at a time.
                let backup = try await server.request(.POST, "/automation/backup")
                #expect(backup.status == 409 && backup.errorCode == "backup_busy", "\(backup.text)")
                try await group.waitForAll()
            }
            #expect(try await BackupFixture.state(server).rows == 1000)
        }
    }
}

extension BackupTests {
    @Test func aSwapWhoseReopenedFileFailsItsCheckPutsTheOldFileBack() async throws {
        let fixture = try BackupFixture(rows: 800)
        defer { fixture.drop() }
        try await TestServer.run(yaml: try fixture.yaml(), environment: BackupFixture.environment()) { server in
            #expect(try await SyncFixture.sync(server, "orders")["status"] as? String == "succeeded")
            let created = try await server.request(.POST, "/automation/backup")
            let name = try #require(try created.json["backup"] as? String)
            try fixture.insert(200)
            #expect(try await SyncFixture.sync(server, "orders")["status"] as? String == "succeeded")
            let live = try await BackupFixture.state(server)

            // A real, verified copy goes in, but the check after reopening fails: the old file must come back.
            let database = try #require(server.services.registry.database("default"))
            let candidate = URL(fileURLWithPath: database.settings.path + ".candidate")
            try FileManager.default.copyItem(at: BackupFixture.localBackupDirectory(server, name).appendingPathComponent("duckling-default.db"),
                                             to: candidate)
            struct Rejected: Error {}
            await #expect(throws: Rejected.self) {
                try await database.replaceFile(with: candidate) { connection in
                    _ = try connection.query("SELECT count(*) FROM orders").rows()
                    throw Rejected()
                }
            }
            #expect(try await BackupFixture.state(server) == live)
            #expect(try await server.query("SELECT count(*) FROM orders").status == 200)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: URL(fileURLWithPath: database.settings.path).deletingLastPathComponent().path)
                .filter { $0.contains("pre-restore") }
            #expect(leftovers.isEmpty, "\(leftovers)")
            // The server carries on: the next sync and a real restore work.
            #expect(try await SyncFixture.sync(server, "orders")["status"] as? String == "succeeded")
            #expect(try await server.request(.POST, "/automation/restore").status == 200)
            #expect(try await BackupFixture.state(server).rows == 800)
        }
    }
}

/// Counts of HTTP statuses seen by concurrent clients.
final class QueryTally: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [Int: Int] = [:]

    func record(_ status: Int) { lock.withLock { counts[status, default: 0] += 1 } }
    func count(_ status: Int) -> Int { lock.withLock { counts[status] ?? 0 } }
    var others: Int { lock.withLock { counts.filter { $0.key != 200 }.values.reduce(0, +) } }
    var summary: String { lock.withLock { "\(counts)" } }
}

final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
