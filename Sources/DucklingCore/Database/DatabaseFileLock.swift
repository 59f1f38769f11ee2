import Foundation

/// A lock on `PATH.lock` (flock) held by the process that owns a database file, from before
/// anything at the path is touched (an interrupted restore is recovered first) until the database
/// is closed. DuckDB's own lock comes only with the open; without this, a second Duckling process
/// could "recover" the file of a restore the first is in the middle of. The kernel drops it when
/// the process dies.
final class DatabaseFileLock: Sendable {
    private let descriptor: Int32

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit {
        // Closing the descriptor releases the lock.
        Foundation.close(descriptor)
    }

    /// Takes the lock without waiting; throws ``DatabaseUnavailable`` when another process holds it.
    /// A read-write owner takes it exclusively, creating the file; a read-only tool takes it shared
    /// without creating anything, and needs none when no owner ever made the file (nil).
    static func acquire(database path: String, databaseID: String, exclusive: Bool) throws -> DatabaseFileLock? {
        let lockPath = path + ".lock"
        if exclusive {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        }
        let descriptor = exclusive ? Foundation.open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644) : Foundation.open(lockPath, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            if !exclusive && errno == ENOENT { return nil }
            throw DatabaseUnavailable(databaseID: databaseID, reason: "cannot open \(lockPath): \(String(cString: strerror(errno)))", retryAfterSeconds: 5)
        }
        guard flock(descriptor, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 else {
            let reason = errno == EWOULDBLOCK
                ? "another Duckling process is using \(path) (stop it first: one process owns a database file)"
                : "cannot lock \(lockPath): \(String(cString: strerror(errno)))"
            Foundation.close(descriptor)
            throw DatabaseUnavailable(databaseID: databaseID, reason: reason, retryAfterSeconds: 5)
        }
        return DatabaseFileLock(descriptor: descriptor)
    }
}
