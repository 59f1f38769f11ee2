public import DuckDBKit
public import Foundation
import ObjectStorage

extension ManagedDatabase {
    /// Replaces the database file with `replacement` (a verified copy on the same file system),
    /// following DESIGN.md §7: refuse new work (503 with a retry hint), let running queries and
    /// writes finish (interrupting queries that outstay 30 s), close the instance and wait until
    /// DuckDB has released the file, keep the old file aside, move the new one in, reopen it and
    /// run `check` on it, and only then remove the old file and put the database back in service.
    /// On any failure the old file is put back and reopened, and the error is thrown; a crash at
    /// any step is undone when the file next opens (``FileSwap/recoverInterrupted(path:)``).
    public func replaceFile(with replacement: URL, reason: String = "being restored", check: @escaping @Sendable (Connection) throws -> Void) async throws {
        // No instance after a reopen (or an earlier restore) failed: the file is still this
        // process's, so it can be replaced without a drain. Otherwise the database must be open.
        let old = try takeOfflineForReplace(reason: reason)
        // From here nothing else may reopen the file (a health check's recovery) until the swap ends.
        defer { setRestoring(false) }
        if let old {
            do {
                try await old.drain()
            } catch {
                bringOnline(old)
                throw error
            }
            try await closeOrStayOut(old, checkpoint: true)
        }
        let swap = FileSwap(path: settings.path)
        let instance: DatabaseInstance
        do {
            try await BlockingIO.run { try swap.swap(in: replacement) }
            instance = try await openChecked(check)
            do {
                try await Failpoints.hit("restore.after-reopen", scope: settings.path)
                if let leftover = try await BlockingIO.run({ try swap.discardOld() }) {
                    logger.warning("the old WAL of the restored database could not be removed; the next open removes it",
                                   metadata: ["duckling.error": .string(String(describing: leftover))])
                }
            } catch {
                try await closeOrStayOut(instance, checkpoint: false)
                throw error
            }
        } catch let error as DatabaseUnavailable {
            // An instance did not release the file: nothing may open it again in this process.
            throw error
        } catch {
            logger.error("restore failed; putting the previous database back", metadata: ["duckling.error": .string(String(describing: error))])
            await BlockingIO.runLogged(logger) { try swap.removeMovedInWithoutOld() }
            await reopen()
            throw error
        }
        // From here the new file is the database: the old one is gone.
        do {
            try await Failpoints.hit("restore.before-online", scope: settings.path)
        } catch {
            try await closeOrStayOut(instance, checkpoint: false)
            await reopen()
            throw error
        }
        bringOnline(instance)
        // A database that had failed serves again from the file it was given.
        setFailed(nil)
        logger.notice("database file replaced by a restored backup")
    }

    /// Closes `instance` and waits for DuckDB to release the file; if it does not (a connection
    /// this code does not own holds it), the database stays out of service, because opening the
    /// file again would open it twice in one process.
    private func closeOrStayOut(_ instance: DatabaseInstance, checkpoint: Bool) async throws {
        guard await instance.close(checkpoint: checkpoint, logger: logger) else {
            let reason = "the database did not close for the restore; restart Duckling to reopen it"
            markLeaked(reason)
            throw DatabaseUnavailable(databaseID: id, reason: reason, retryAfterSeconds: 30)
        }
    }

    /// Opens what is at the path after a failure, undoing an unfinished swap first (``open(readOnly:)``).
    private func reopen() async {
        do {
            // Never a new empty database where the file is missing (it was deleted before the restore).
            try requireFile()
            try await BlockingIO.run { try self.open() }
        } catch {
            markReopenFailed("the restore failed and the database could not be reopened: \(error)")
            logger.critical("the database could not be reopened", metadata: ["duckling.error": .string(String(describing: error))])
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
            try await closeOrStayOut(instance, checkpoint: false)
            throw error
        }
    }
}
