public import DuckDBKit
public import Foundation
import ObjectStorage

extension ManagedDatabase {
    /// Replaces the database file with `replacement` (a verified copy on the same file system),
    /// following DESIGN.md §7: refuse new work (503 with a retry hint), let running queries and
    /// writes finish, close the instance, keep the old file aside, move the new one in, drop a
    /// stale WAL, reopen, and run `check` on the reopened database. On any failure the old file is
    /// put back and reopened, and the error is thrown.
    public func replaceFile(with replacement: URL, check: @escaping @Sendable (Connection) throws -> Void) async throws {
        // Only a weak reference stays here, so DuckDB closes the file once the drained instance goes.
        let old = try await takeOfflineAndDrain()
        guard await waitUntilReleased(old) else {
            // Something still holds the instance: put it back in service rather than swap under it.
            if let instance = old.instance {
                instance.readers.undrain()
                instance.syncWriters.undrain()
                bringOnline(instance)
            }
            throw DatabaseUnavailable(databaseID: id, reason: "the database did not close for the restore; nothing was changed", retryAfterSeconds: 5)
        }
        let files = ReplacedFiles(path: settings.path)
        do {
            try await BlockingIO.run { try files.swap(in: replacement) }
            try await openChecked(check)
            await BlockingIO.runLogged(logger) { try files.discardOld() }
            logger.notice("database file replaced by a restored backup")
        } catch {
            logger.error("restore failed; putting the previous database back", metadata: ["duckling.error": .string(String(describing: error))])
            try await BlockingIO.run {
                try files.putBack()
                try self.open()
            }
            throw error
        }
    }

    /// Refuses new work, then waits for running writes and reads to finish and keeps every
    /// connection, so nothing can use the instance again.
    private func takeOfflineAndDrain() async throws -> WeakInstance {
        let old = try takeOffline(reason: "being restored")
        do {
            try await old.writeGate.withExclusive {
                try await old.readers.drain()
                do {
                    try await old.syncWriters.drain()
                } catch {
                    old.readers.undrain()
                    throw error
                }
            }
        } catch {
            bringOnline(old)
            throw error
        }
        return WeakInstance(old)
    }

    /// Opens the replaced file and publishes it if `check` passes; otherwise waits for it to close.
    private func openChecked(_ check: @escaping @Sendable (Connection) throws -> Void) async throws {
        let failed: (WeakInstance, any Error)? = try await {
            let instance = try await BlockingIO.run { [settings, engine, query] in
                try DatabaseInstance(settings: settings, engine: engine, readers: query.maxConcurrent)
            }
            do {
                try await instance.writer.run { try check($0) }
            } catch {
                return (WeakInstance(instance), error)
            }
            bringOnline(instance)
            return nil
        }()
        if let (instance, error) = failed {
            if await !waitUntilReleased(instance) {
                logger.warning("the rejected restored database is still open while the previous one is put back")
            }
            throw error
        }
    }

    /// Waits (up to 30 s, or until cancelled) until nothing holds the instance any more, so DuckDB
    /// has closed its file.
    private func waitUntilReleased(_ instance: WeakInstance) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(30)
        while instance.isAlive {
            guard ContinuousClock.now < deadline else { return false }
            do {
                try await Task.sleep(for: .milliseconds(20))
            } catch {
                return !instance.isAlive
            }
        }
        return true
    }
}

/// The files of a restore's swap: the live database and its WAL are moved aside, the replacement
/// moved in; each step is remembered so a failure undoes exactly what was done.
private final class ReplacedFiles: @unchecked Sendable {  // used by one restore at a time, step after step
    let live: URL, wal: URL, aside: URL, walAside: URL
    private var movedAside = false, walMovedAside = false, replaced = false

    init(path: String) {
        live = URL(fileURLWithPath: path)
        wal = URL(fileURLWithPath: path + ".wal")
        aside = URL(fileURLWithPath: path + ".pre-restore")
        walAside = URL(fileURLWithPath: path + ".wal.pre-restore")
    }

    func swap(in replacement: URL) throws {
        let manager = FileManager.default
        for leftover in [aside, walAside] where manager.fileExists(atPath: leftover.path) {
            try manager.removeItem(at: leftover)
        }
        try FileCopy.rename(live, to: aside)
        movedAside = true
        if manager.fileExists(atPath: wal.path) {
            try FileCopy.rename(wal, to: walAside)
            walMovedAside = true
        }
        try FileCopy.rename(replacement, to: live)
        replaced = true
    }

    /// Undoes what ``swap(in:)`` did; the live file is touched only if it was replaced.
    func putBack() throws {
        let manager = FileManager.default
        if replaced {
            try manager.removeItem(at: live)
            if manager.fileExists(atPath: wal.path) { try manager.removeItem(at: wal) }
        }
        if movedAside { try FileCopy.rename(aside, to: live) }
        if walMovedAside { try FileCopy.rename(walAside, to: wal) }
    }

    func discardOld() throws {
        let manager = FileManager.default
        if movedAside { try manager.removeItem(at: aside) }
        if walMovedAside { try manager.removeItem(at: walAside) }
    }
}

/// A reference that does not keep a database instance open.
private struct WeakInstance: @unchecked Sendable {
    weak var instance: DatabaseInstance?

    init(_ instance: DatabaseInstance) {
        self.instance = instance
    }

    var isAlive: Bool { instance != nil }
}
