@testable import DucklingCore
import Foundation
import Testing

/// What opening a database finds of a swap a crash interrupted, in every state the swap's steps
/// can leave (including the WAL steps a process test cannot reach: a closed instance has no WAL).
@Suite struct FileSwapTests {
    private final class Files {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swap-\(UUID().uuidString)")
        var live: String { directory.appendingPathComponent("db").path }

        init(_ present: [String: String]) throws {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            for (suffix, content) in present { try Data(content.utf8).write(to: URL(fileURLWithPath: live + suffix)) }
        }

        /// Every file left, by suffix, with its content.
        var state: [String: String] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            return Dictionary(uniqueKeysWithValues: names.map { name in
                (String(name.dropFirst(2)), (try? String(contentsOfFile: directory.appendingPathComponent(name).path, encoding: .utf8)) ?? "")
            })
        }

        deinit { try? FileManager.default.removeItem(at: directory) }
    }

    @Test(arguments: [
        // Killed after moving the live file aside: nothing at the path; the old file comes back.
        ([".pre-restore": "old"], [FileSwap.Recovery.restoredOld], ["": "old"]),
        // ... after moving its WAL aside too; a WAL left at the live path is the old one's as well.
        ([".pre-restore": "old", ".wal.pre-restore": "old wal"], [.restoredOld], ["": "old", ".wal": "old wal"]),
        ([".pre-restore": "old", ".wal": "old wal"], [.restoredOld], ["": "old", ".wal": "old wal"]),
        // ... after moving the new file in (and perhaps opening it, which wrote a WAL of its own).
        (["": "new", ".pre-restore": "old", ".wal.pre-restore": "old wal"], [.restoredOld], ["": "old", ".wal": "old wal"]),
        (["": "new", ".wal": "new wal", ".pre-restore": "old"], [.restoredOld], ["": "old"]),
        // ... after discarding the old file but not yet its WAL: the new file stays.
        (["": "new", ".wal.pre-restore": "old wal"], [.removedStaleWAL], ["": "new"]),
        // Nothing interrupted.
        (["": "live", ".wal": "live wal"], [], ["": "live", ".wal": "live wal"]),
    ] as [([String: String], [FileSwap.Recovery], [String: String])])
    func anInterruptedSwapIsUndoneAtOpen(found: [String: String], recovery: [FileSwap.Recovery], left: [String: String]) throws {
        let files = try Files(found)
        #expect(FileSwap.isInterrupted(path: files.live) == !recovery.isEmpty)
        #expect(try FileSwap.recoverInterrupted(path: files.live) == recovery.first)
        #expect(files.state == left)
        #expect(!FileSwap.isInterrupted(path: files.live))
    }
}
