import Foundation
import Testing
@testable import ObjectStorage

/// The local-directory object store, on the real file system.
@Suite struct LocalDirectoryStoreTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("duckling-store-\(UUID().uuidString)")
    var store: LocalDirectoryStore { LocalDirectoryStore(root: root) }

    @Test func objectsRoundTripAndListByPrefix() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let source = root.appendingPathComponent("source.bin")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let payload = Data((0..<(FileCopy.chunkSize + 12_345)).map { UInt8($0 % 251) })
        try payload.write(to: source)

        try await store.upload(file: source, to: "backups/a.bin", progress: nil)
        try await store.put(Data("manifest".utf8), at: "backups/a.bin.manifest.json")
        try await store.put(Data("other".utf8), at: "elsewhere/b")
        let copy = root.appendingPathComponent("copy.bin")
        try await store.download("backups/a.bin", to: copy, progress: nil)
        #expect(try Data(contentsOf: copy) == payload)
        #expect(try await store.get("backups/a.bin.manifest.json") == Data("manifest".utf8))
        #expect(try await store.head("backups/a.bin")?.size == Int64(payload.count))
        #expect(try await store.list(prefix: "backups/").map(\.key) == ["backups/a.bin", "backups/a.bin.manifest.json"])

        try await store.delete("backups/a.bin")
        try await store.delete("backups/a.bin") // already gone: fine
        #expect(try await store.head("backups/a.bin") == nil)
        let missing = await #expect(throws: ObjectStoreError.self) { try await store.get("backups/a.bin") }
        #expect(missing?.kind == .notFound)
    }

    @Test func unfinishedWritesAreInvisibleAndCanBeAbandoned() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        try await store.put(Data("done".utf8), at: "p/done")
        // What a killed write leaves: a temporary file beside its target.
        let leftover = FileCopy.temporaryURL(beside: root.appendingPathComponent("p/half"))
        try Data("half".utf8).write(to: leftover)
        #expect(try await store.list(prefix: "p/").map(\.key) == ["p/done"])
        #expect(try await store.abortUnfinishedUploads(prefix: "p/") { _ in true } == 1)
        #expect(!FileManager.default.fileExists(atPath: leftover.path))
        #expect(try await store.get("p/done") == Data("done".utf8))
    }

    @Test func abandoningUnfinishedWritesKeepsToItsPrefixAndKeys() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("p"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("q"), withIntermediateDirectories: true)
        let ours = FileCopy.temporaryURL(beside: root.appendingPathComponent("p/backup-a-1"))
        let sameStart = FileCopy.temporaryURL(beside: root.appendingPathComponent("p/backup-a-b-1"))
        let otherPrefix = FileCopy.temporaryURL(beside: root.appendingPathComponent("q/backup-a-1"))
        for file in [ours, sameStart, otherPrefix] { try Data("half".utf8).write(to: file) }
        let removed = try await store.abortUnfinishedUploads(prefix: "p/backup-a-") { $0 == "p/backup-a-1" }
        #expect(removed == 1)
        #expect(!FileManager.default.fileExists(atPath: ours.path))
        #expect(FileManager.default.fileExists(atPath: sameStart.path), "another key that starts alike was abandoned")
        #expect(FileManager.default.fileExists(atPath: otherPrefix.path), "a key under another prefix was abandoned")
    }

    @Test func keysCannotLeaveTheRoot() async throws {
        defer { try? FileManager.default.removeItem(at: root) }
        for key in ["../outside", "a/../../outside", "/etc/passwd", "a//b", ""] {
            let error = await #expect(throws: ObjectStoreError.self) { try await store.put(Data(), at: key) }
            #expect(error?.kind == .invalidRequest)
        }
        #expect(!FileManager.default.fileExists(atPath: root.deletingLastPathComponent().appendingPathComponent("outside").path))
    }
}
