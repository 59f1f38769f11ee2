public import DuckDBKit
public import Foundation
import ObjectStorage

extension ManagedDatabase {
    /// Replaces the database file with `replacement` (a verified copy on the same file system),
    /// following DESIGN.md §7: refuse new work (503 with a retry hint), let running queries and
    /// writes finish, close the instance and wait until DuckDB has released the file, keep the old
    /// file aside, move the new one in, reopen it and run `check` on it, and only then remove the
    /// old file and put the database back in service. On any failure the old file is put back and
    /// reopened, and the error is thrown; a crash at any step is undone when the file next opens
    /// (``FileSwap/recoverInterrupted(path:)``).
    public func replaceFile(with replacement: URL, check: @escaping @Sendable (Connection) throws -> Void) async throws {
        let old = try takeOffline(reason: "being restored")
        do {
            try await old.drain()
        } catch {
            bringOnline(old)
            throw error
        }
        guard await old.close(checkpoint: true, logger: logger) else {
            // A connection this code does not own still holds the old instance: opening the file
            // again would open it twice in one process, so the database stays out of service.
            let reason = "the database did not close for the restore; nothing was changed, restart Duckling to reopen it"
            markUnavailable(reason)
            throw DatabaseUnavailable(databaseID: id, reason: reason, retryAfterSeconds: 30)
        }
        let swap = FileSwap(path: settings.path)
        do {
            try await BlockingIO.run { try swap.swap(in: replacement) }
            let instance = try await openChecked(check)
            do {
                try await Failpoints.hit("restore.after-reopen", scope: settings.path)
                if let leftover = try await BlockingIO.run({ try swap.discardOld() }) {
                    logger.warning("the old WAL of the restored database could not be removed; the next open removes it",
                                   metadata: ["duckling.error": .string(String(describing: leftover))])
                }
            } catch {
                _ = await instance.close(checkpoint: false, logger: logger)
                throw error
            }
            try await Failpoints.hit("restore.before-online", scope: settings.path)
            bringOnline(instance)
            logger.notice("database file replaced by a restored backup")
        } catch {
            logger.error("restore failed; putting the previous database back", metadata: ["duckling.error": .string(String(describing: error))])
            do {
                try await BlockingIO.run { try self.open() }
            } catch let reopen {
                markUnavailable("the restore failed and the previous database could not be reopened: \(reopen)")
                logger.critical("the previous database could not be reopened", metadata: ["duckling.error": .string(String(describing: reopen))])
            }
            throw error
        }
    }

    /// Opens the swapped-in file and runs `check` on it; an instance that fails the check is
    /// closed (and released) before the error is thrown.
    private func openChecked(_ check: @escaping @Sendable (Connection) throws -> Void) async throws -> DatabaseInstance {
        let instance = try await BlockingIO.run { try self.makeInstance() }
        do {
            try await instance.writer.run { try check($0) }
            return instance
        } catch {
            _ = await instance.close(checkpoint: false, logger: logger)
            throw error
        }
    }
}
