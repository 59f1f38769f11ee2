import Foundation

/// A lock on `PATH.lock` (flock) held by the process that owns a database file, from before
/// anything at the path is touched (an interrupted restore is recovered first) until the database
/// is closed. DuckDB's own lock comes only with the open; without this, a second Duckling process
/// could "recover" the file of a restore the first is in the middle of. Read-only tools take it
/// shared. The kernel drops it when the process dies.
final class DatabaseFileLock: Sendable {
    private let descriptor: Int32

    /// Takes the lock without waiting; throws ``DatabaseUnavailable`` when another process holds it.
    init(database path: String, databaseID: String, exclusive: Bool) throws {
        let lockPath = path + ".lock"
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let descriptor = Foundation.open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw DatabaseUnavailable(databaseID: databaseID, reason: "cannot open \(lockPath): \(String(cString: strerror(errno)))", retryAfterSeconds: 5)
        }
        guard flock(descriptor, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 else {
            let reason = errno == EWOULDBLOCK
                ? "another Duckling process is using \(path) (stop it first: one process owns a database file)"
                : "cannot lock \(lockPath): \(String(cString: strerror(errno)))"
            Foundation.close(descriptor)
            throw DatabaseUnavailable(databaseID: databaseID, reason: reason, retryAfterSeconds: 5)
        }
        self.descriptor = descriptor
    }

    deinit {
        // Closing the descriptor releases the lock.
        Foundation.close(descriptor)
    }
}
