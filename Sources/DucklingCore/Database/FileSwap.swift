import Foundation
import ObjectStorage

/// The files of a restore's swap (DESIGN.md §7): the live database and its WAL are moved aside
/// (`.pre-restore`), the verified replacement is moved in, and the old files are removed only once
/// the new one has opened and passed its check. While `.pre-restore` exists the swap is not
/// complete: ``recoverInterrupted(path:)`` puts the old file back, after a failure in the process
/// and after a crash at any step alike.
///
/// Every step has a failpoint (`restore.swap.*`), so tests kill the process at each of them.
final class FileSwap: @unchecked Sendable {  // used by one restore at a time, step after step
    let live: URL, wal: URL, aside: URL, walAside: URL
    private var movedAside = false, walMovedAside = false, movedIn = false

    init(path: String) {
        live = URL(fileURLWithPath: path)
        wal = URL(fileURLWithPath: path + ".wal")
        aside = URL(fileURLWithPath: path + Self.asideSuffix)
        walAside = URL(fileURLWithPath: path + ".wal" + Self.asideSuffix)
    }

    static let asideSuffix = ".pre-restore"

    /// Moves the live files aside and `replacement` in. Refuses when `.pre-restore` files exist:
    /// they belong to an interrupted swap, which opening the database recovers first.
    func swap(in replacement: URL) throws {
        let manager = FileManager.default
        for leftover in [aside, walAside] where manager.fileExists(atPath: leftover.path) {
            throw BackupError(.io, "\(leftover.lastPathComponent) is left from an interrupted restore; reopen the database to recover it first")
        }
        try step("restore.swap.before-move-aside")
        // A live file deleted under the server has nothing to move aside (a WAL left without its
        // file still goes aside, so it is never replayed onto the new one).
        if manager.fileExists(atPath: live.path) {
            try FileCopy.rename(live, to: aside)
            movedAside = true
        }
        try step("restore.swap.after-move-aside")
        if manager.fileExists(atPath: wal.path) {
            try FileCopy.rename(wal, to: walAside)
            walMovedAside = true
            try step("restore.swap.after-wal-aside")
        }
        // Never over a file that appeared at the path meanwhile.
        try FileCopy.moveWithoutReplacing(replacement, to: live)
        movedIn = true
        try step("restore.swap.after-move-in")
    }

    /// After a failed swap that had no live file to move aside (it was deleted): removes the file
    /// it moved in, with any WAL of its own, so the rollback does not open a file that failed.
    func removeMovedInWithoutOld() throws {
        guard movedIn, !movedAside else { return }
        if FileManager.default.fileExists(atPath: wal.path) { try Self.remove(wal) }
        try Self.remove(live)
    }

    /// Removes the old files once the new one is verified open. The old file goes first: it is the
    /// marker of an unfinished swap, and removing its WAL first would lose the WAL if interrupted
    /// between. A failure to remove the old file is thrown (the swap can still be undone); after
    /// that the new file is the database, and a failure to remove the old WAL is only returned
    /// (opening the file removes it later).
    func discardOld() throws -> (any Error)? {
        if movedAside { try FileManager.default.removeItem(at: aside) }
        do {
            try FileCopy.syncDirectory(aside.deletingLastPathComponent())
            try step("restore.swap.after-discard-old")
            if walMovedAside { try Self.remove(walAside) }
            return nil
        } catch {
            return error
        }
    }

    /// Removes a file and makes the removal durable before the next step.
    private static func remove(_ file: URL) throws {
        try FileManager.default.removeItem(at: file)
        try FileCopy.syncDirectory(file.deletingLastPathComponent())
    }

    private func step(_ name: String) throws {
        try Failpoints.hitBlocking(name, scope: live.path)
    }

    /// What opening found of an interrupted swap.
    enum Recovery: Equatable {
        /// The old file was put back (the swap had not completed).
        case restoredOld
        /// Only the old WAL was left after the old file had been discarded; it was removed.
        case removedStaleWAL
    }

    /// Finishes a swap a crash interrupted, before the database at `path` is opened read-write:
    /// while `.pre-restore` exists the new file was never verified open, so it is removed (with any
    /// WAL of its own) and the old file and WAL are put back. Nil when there was nothing to do.
    static func recoverInterrupted(path: String) throws -> Recovery? {
        let swap = FileSwap(path: path)
        let manager = FileManager.default
        if manager.fileExists(atPath: swap.aside.path) {
            if manager.fileExists(atPath: swap.live.path) {
                // The old WAL, if any, is still aside: a WAL at the live path belongs to the new
                // file. It goes first: a WAL left at the path with no file there is the old one's.
                if manager.fileExists(atPath: swap.wal.path) { try Self.remove(swap.wal) }
                try Failpoints.hitBlocking("restore.recover.after-remove-new-wal", scope: path)
                try Self.remove(swap.live)
            }
            try FileCopy.rename(swap.aside, to: swap.live)
            if manager.fileExists(atPath: swap.walAside.path) { try FileCopy.rename(swap.walAside, to: swap.wal) }
            return .restoredOld
        }
        if manager.fileExists(atPath: swap.walAside.path) {
            try Self.remove(swap.walAside)
            return .removedStaleWAL
        }
        return nil
    }

    /// Whether an interrupted swap left files at `path` (what a read-only open must refuse).
    static func isInterrupted(path: String) -> Bool {
        let swap = FileSwap(path: path)
        return FileManager.default.fileExists(atPath: swap.aside.path) || FileManager.default.fileExists(atPath: swap.walAside.path)
    }
}
