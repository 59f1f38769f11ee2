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

            let removed = service.applyLocalRetention(now: Date().addingTimeInterval(86_400 * 30))
            #expect(Set(removed) == Set(names.dropFirst()), "\(removed)")
            let left = try await BackupFixture.backups(server)
            #expect(left.map { $0["key"] as? String } == [names[0]])
            #expect(left.first?["verified"] as? Bool == true)
            // And the one good backup still restores.
            #expect(try await server.request(.POST, "/automation/restore").status == 200)
        }
    }
}
