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
            throw DatabaseUnavailable(databaseID: id, reason: "the database did not close for the restore; restart the server", retryAfterSeconds: 5)
        }

        let live = URL(fileURLWithPath: settings.path)
        let wal = URL(fileURLWithPath: settings.path + ".wal")
        let aside = URL(fileURLWithPath: settings.path + ".pre-restore")
        let walAside = URL(fileURLWithPath: settings.path + ".wal.pre-restore")
        let manager = FileManager.default
        do {
            try? manager.removeItem(at: aside)
            try? manager.removeItem(at: walAside)
            try FileCopy.rename(live, to: aside)
            if manager.fileExists(atPath: wal.path) { try FileCopy.rename(wal, to: walAside) }
            try FileCopy.rename(replacement, to: live)
            try await openChecked(check)
            try? manager.removeItem(at: aside)
            try? manager.removeItem(at: walAside)
            logger.notice("database file replaced by a restored backup")
        } catch {
            logger.error("restore failed; putting the previous database back", metadata: ["duckling.error": .string(String(describing: error))])
            try? manager.removeItem(at: live)
            if manager.fileExists(atPath: aside.path) { try FileCopy.rename(aside, to: live) }
            if manager.fileExists(atPath: walAside.path) { try FileCopy.rename(walAside, to: wal) }
            try open()
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
                try await old.syncWriters.drain()
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
            let instance = try DatabaseInstance(settings: settings, engine: engine, readers: query.maxConcurrent)
            do {
                try await instance.writer.run { try check($0) }
            } catch {
                return (WeakInstance(instance), error)
            }
            bringOnline(instance)
            return nil
        }()
        if let (instance, error) = failed {
            _ = await waitUntilReleased(instance)
            throw error
        }
    }

    /// Waits (up to 30 s) until nothing holds the instance any more, so DuckDB has closed its file.
    private func waitUntilReleased(_ instance: WeakInstance) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(30)
        while instance.isAlive {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
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
