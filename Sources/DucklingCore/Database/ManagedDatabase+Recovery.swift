import DuckDBKit
import Foundation
import ObjectStorage

extension ManagedDatabase {
    /// Reopens the database from its file (DESIGN.md §8): the open instance, which DuckDB may have
    /// invalidated after a fatal error, is taken out of service, given a few seconds for running
    /// work, closed without a checkpoint and released; then the file is opened again (replaying its
    /// WAL). A missing file is never replaced by a new empty database: the reopen fails instead.
    func reopenFromFile() async throws {
        try checkReopenable()
        // Without an instance there is nothing to close only after a reopen that failed; any
        // other reason (a restore or compaction under way) means the file is not ours to open.
        let old: DatabaseInstance?
        do {
            old = try takeOffline(reason: "reopening after an engine failure")
        } catch {
            guard reopenFailedBefore else { throw error }
            old = nil
        }
        if let old {
            do {
                try await old.drain(patience: .seconds(5))
            } catch {
                logger.warning("reopening without waiting for running work", metadata: ["duckling.error": .string(String(describing: error))])
            }
            guard await old.close(checkpoint: false, patience: .seconds(30), logger: logger) else {
                let reason = "the database did not close for a reopen; restart Duckling to reopen it"
                markLeaked(reason)
                throw DatabaseUnavailable(databaseID: id, reason: reason, retryAfterSeconds: 30)
            }
        }
        try requireFile()
        do {
            try await BlockingIO.run { try self.open() }
        } catch {
            markReopenFailed("the database could not be reopened: \(error)")
            throw error
        }
        // A file that reopens (its WAL replayed) but cannot be checkpointed, as when the disk is
        // still full, fails again at its next write: not recovered. Run on the instance itself,
        // since the database may still be marked failed.
        guard let instance = instanceIgnoringFailure else {
            throw DatabaseUnavailable(databaseID: id, reason: "the database closed while it was reopened", retryAfterSeconds: 5)
        }
        try await instance.writeGate.withExclusive { try await BackupService.checkpoint(instance.writer, patience: .seconds(5)) }
    }

    /// Throws unless a reopen may go ahead now: no restore or compaction holds the file, and the
    /// database file (or the previous file of an interrupted restore) is there. Cheap: checked
    /// before anything is paused for a recovery.
    func checkReopenable() throws {
        if let blocker = reopenBlocker {
            throw DatabaseUnavailable(databaseID: id, reason: blocker, retryAfterSeconds: 30)
        }
        try requireFile()
    }

    /// Throws unless the database file (or the previous file of an interrupted restore) is there.
    func requireFile() throws {
        let path = settings.path
        // The old file aside (an interrupted restore) counts; a WAL aside alone has no file to go with.
        guard FileManager.default.fileExists(atPath: path) || FileManager.default.fileExists(atPath: path + FileSwap.asideSuffix) else {
            throw DatabaseUnavailable(
                databaseID: id, reason: "the database file \(path) is missing; restore a backup (POST /automation/restore)",
                retryAfterSeconds: 60)
        }
    }

    /// What is wrong with the file under the open instance: deleted, or replaced by another file.
    var fileProblem: String? {
        guard let opened = openedIdentity else { return nil }
        guard let current = FileIdentity(path: settings.path) else { return "the database file \(settings.path) was deleted" }
        return current == opened ? nil : "the database file \(settings.path) was replaced by another file"
    }
}
