import Crypto
import Foundation
import Testing
@testable import DucklingCore

/// `client-aes256` round trips and every way a stored object can be wrong.
@Suite struct BackupCipherTests {
    let directory: URL
    let key = BackupKeySource.key(SymmetricKey(size: .bits256))

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("duckling-cipher-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    private func file(_ name: String, bytes count: Int) throws -> URL {
        var generator = SystemRandomNumberGenerator()
        let data = Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let url = directory.appendingPathComponent(name)
        try data.write(to: url)
        return url
    }

    private func cipher(_ source: BackupKeySource? = nil, database: String = "default", backup: String = "backup-default-1") -> BackupCipher {
        BackupCipher(keySource: source ?? key, databaseID: database, backupID: backup)
    }

    private func roundTrip(size: Int) async throws {
        let plain = try file("plain-\(size)", bytes: size)
        let sealed = directory.appendingPathComponent("sealed-\(size)")
        let opened = directory.appendingPathComponent("opened-\(size)")
        let written = try await cipher().encrypt(plain, to: sealed)
        let chunks = size / BackupCipher.chunkSize + 1
        #expect(written == Int64(BackupCipher.headerSize + size + chunks * BackupCipher.tagSize))
        #expect(try Data(contentsOf: sealed).count == Int(written))
        try await cipher().decrypt(sealed, to: opened)
        #expect(try Data(contentsOf: opened) == Data(contentsOf: plain))
    }

    @Test(arguments: [0, 1, BackupCipher.chunkSize - 1, BackupCipher.chunkSize, 2 * BackupCipher.chunkSize + 17])
    func roundTripsAnySize(size: Int) async throws {
        try await roundTrip(size: size)
    }

    /// Seals 2.5 chunks and returns the sealed bytes.
    private func sealed() async throws -> (Data, URL) {
        let plain = try file("plain", bytes: 2 * BackupCipher.chunkSize + 1000)
        let sealed = directory.appendingPathComponent("sealed")
        _ = try await cipher().encrypt(plain, to: sealed)
        return (try Data(contentsOf: sealed), sealed)
    }

    private func expectRefusal(_ bytes: Data, with source: BackupKeySource? = nil, database: String = "default",
                               kind: BackupError.Kind, containing text: String) async throws {
        let damaged = directory.appendingPathComponent("damaged-\(UUID().uuidString)")
        try bytes.write(to: damaged)
        let target = directory.appendingPathComponent("out-\(UUID().uuidString)")
        let error = await #expect(throws: BackupError.self) {
            try await cipher(source, database: database).decrypt(damaged, to: target)
        }
        #expect(error?.kind == kind)
        #expect(error?.message.contains(text) == true, "\(error?.message ?? "")")
        // Nothing of the plaintext is left behind, not even a temporary file.
        #expect(!FileManager.default.fileExists(atPath: target.path))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".partial-") }
        #expect(leftovers.isEmpty)
    }

    @Test func aFlippedByteIsDetected() async throws {
        var (bytes, _) = try await sealed()
        bytes[BackupCipher.headerSize + BackupCipher.chunkSize + 100] ^= 0x01
        try await expectRefusal(bytes, kind: .corrupt, containing: "chunk 1")
    }

    @Test func aFlippedTagIsDetected() async throws {
        var (bytes, _) = try await sealed()
        bytes[bytes.count - 1] ^= 0x80
        try await expectRefusal(bytes, kind: .corrupt, containing: "failed authentication")
    }

    @Test func truncationAtAChunkBoundaryIsDetected() async throws {
        let (bytes, _) = try await sealed()
        let twoChunks = BackupCipher.headerSize + 2 * (BackupCipher.chunkSize + BackupCipher.tagSize)
        try await expectRefusal(bytes.prefix(twoChunks), kind: .corrupt, containing: "truncated")
    }

    @Test func truncationInsideAChunkIsDetected() async throws {
        let (bytes, _) = try await sealed()
        try await expectRefusal(bytes.prefix(BackupCipher.headerSize + 5000), kind: .corrupt, containing: "chunk 0")
    }

    @Test func reorderedChunksAreDetected() async throws {
        let (bytes, _) = try await sealed()
        let size = BackupCipher.chunkSize + BackupCipher.tagSize
        let header = bytes.prefix(BackupCipher.headerSize)
        let first = bytes[BackupCipher.headerSize..<(BackupCipher.headerSize + size)]
        let second = bytes[(BackupCipher.headerSize + size)..<(BackupCipher.headerSize + 2 * size)]
        let rest = bytes[(BackupCipher.headerSize + 2 * size)...]
        try await expectRefusal(header + second + first + rest, kind: .corrupt, containing: "chunk 0")
    }

    @Test func appendedDataIsDetected() async throws {
        let (bytes, _) = try await sealed()
        try await expectRefusal(bytes + Data([1, 2, 3]), kind: .corrupt, containing: "chunk 2")
    }

    @Test func aWrongKeyIsToldApart() async throws {
        let (bytes, _) = try await sealed()
        try await expectRefusal(bytes, with: .key(SymmetricKey(size: .bits256)), kind: .wrongKey, containing: "key does not match")
    }

    @Test func anotherDatabasesBackupIsRefused() async throws {
        let (bytes, _) = try await sealed()
        try await expectRefusal(bytes, database: "other", kind: .corrupt, containing: "belongs to another backup")
    }

    @Test func anAlteredHeaderIsDetected() async throws {
        var (bytes, _) = try await sealed()
        bytes[20] ^= 0x01 // inside the salt
        try await expectRefusal(bytes, kind: .wrongKey, containing: "header was altered")
    }

    @Test func passphrasesRoundTripAndRefuseAWrongOne() async throws {
        let plain = try file("plain", bytes: 300_000)
        let sealed = directory.appendingPathComponent("sealed-passphrase")
        let opened = directory.appendingPathComponent("opened-passphrase")
        _ = try await cipher(.passphrase("correct horse battery staple")).encrypt(plain, to: sealed)
        try await cipher(.passphrase("correct horse battery staple")).decrypt(sealed, to: opened)
        #expect(try Data(contentsOf: opened) == Data(contentsOf: plain))
        try await expectRefusal(try Data(contentsOf: sealed), with: .passphrase("wrong"), kind: .wrongKey, containing: "key does not match")
        try await expectRefusal(try Data(contentsOf: sealed), with: key, kind: .wrongKey, containing: "passphrase")
    }

    @Test func keysMustBe32BytesOfBase64() {
        #expect(throws: BackupError.self) { try BackupKeySource.base64("c2hvcnQ=") }
        #expect(throws: BackupError.self) { try BackupKeySource.base64("not base64 at all") }
        #expect(throws: Never.self) { try BackupKeySource.base64(Data(repeating: 7, count: 32).base64EncodedString()) }
    }
}

/// Which backups retention removes.
@Suite struct BackupRetentionTests {
    struct Item { let name: String; let age: Double; let verified: Bool }
    let now = Date()

    private func expired(_ items: [Item], keepLast: Int, days: Int) -> [String] {
        BackupService.expired(items, createdAt: { now.addingTimeInterval(-$0.age * 86_400) }, verified: \.verified,
                              keepLast: keepLast, retentionDays: days, now: now).map(\.name)
    }

    @Test func theOnlyVerifiedBackupAmongFailedOnesIsKept() {
        let items = [Item(name: "new-failed", age: 10, verified: false), Item(name: "good", age: 20, verified: true),
                     Item(name: "old-failed", age: 30, verified: false)]
        #expect(expired(items, keepLast: 1, days: 0) == ["new-failed", "old-failed"])
        #expect(expired(items, keepLast: 0, days: 0) == ["new-failed", "old-failed"])
    }

    @Test func youngBackupsAndTheNewestKeepLastStay() {
        let items = (0..<6).map { Item(name: "b\($0)", age: Double($0 * 3), verified: true) }
        #expect(expired(items, keepLast: 2, days: 7) == ["b3", "b4", "b5"])
        #expect(expired(items, keepLast: 5, days: 1) == ["b5"])
    }
}
