public import DuckDBKit
import Logging
import Foundation
import Synchronization

/// One configured database: the single owner of its DuckDB file, through which every reader and
/// writer goes (DESIGN.md §1.2). Work asks for a lease on the open instance; while the instance is
/// closed or being replaced, leases are refused with ``DatabaseUnavailable``.
public final class ManagedDatabase: Sendable {
    public let settings: DatabaseSettings
    let engine: EngineSettings
    let query: QuerySettings
    /// The process's memory budget, of which this database's instance gets its share.
    public let memory: MemoryBudget
    let logger: Logger
    private let state: Mutex<State>

    private struct State {
        var instance: DatabaseInstance?
        var unavailableReason: String? = "not open"
        /// Held from the first open until ``close(reason:)``, across a restore's swap.
        var lock: DatabaseFileLock?
        /// The file must stay this process's even with no instance open: a restore is swapping it,
        /// or an instance did not release it (for good).
        var restoring = false
        var leaked = false
        /// Recovery gave up: queries get 503 `database_failed` until it succeeds.
        var failed: String?
        /// The file the open instance has (device and inode), to notice it deleted or replaced.
        var identity: FileIdentity?
        /// No instance because a recovery's reopen failed (the next recovery may open the file).
        var reopenFailed = false
    }

    public var id: String { settings.id }

    init(settings: DatabaseSettings, engine: EngineSettings, query: QuerySettings, memory: MemoryBudget, logger: Logger) {
        self.settings = settings
        self.engine = engine
        self.query = query
        self.memory = memory
        var logger = logger
        logger[metadataKey: "duckling.database"] = .string(settings.id)
        self.logger = logger
        self.state = Mutex(State())
    }

    /// Opens the database file (creating it if needed, unless `readOnly`) and locks the instance
    /// down. A read-write open first finishes a restore that a crash interrupted (``FileSwap``), so
    /// a missing file with its `.pre-restore` beside it is put back, never replaced by an empty
    /// database; a read-only open refuses such a file. Blocks: call it off the cooperative pool.
    func open(readOnly: Bool = false) throws {
        if state.withLock({ $0.lock == nil }) {
            let lock = try DatabaseFileLock.acquire(database: settings.path, databaseID: id, exclusive: !readOnly)
            state.withLock { $0.lock = lock }
        }
        if readOnly {
            if FileSwap.isInterrupted(path: settings.path) {
                throw DatabaseUnavailable(
                    databaseID: id, reason: "a restore of \(settings.path) was interrupted; start Duckling (serve, or any command that writes) to put the previous file back",
                    retryAfterSeconds: 0)
            }
        } else if let recovery = try FileSwap.recoverInterrupted(path: settings.path) {
            logger.notice(recovery == .restoredOld
                ? "an interrupted restore was undone: the previous database file is back"
                : "removed the old WAL an interrupted restore left", metadata: ["duckling.path": .string(settings.path)])
        }
        let instance = try makeInstance(readOnly: readOnly)
        let identity = FileIdentity(path: settings.path)
        state.withLock {
            $0.instance = instance
            $0.unavailableReason = nil
            $0.identity = identity
            $0.reopenFailed = false
        }
        logger.info("database opened", metadata: ["duckling.path": .string(settings.path)])
    }

    func makeInstance(readOnly: Bool = false) throws -> DatabaseInstance {
        try Failpoints.hitBlocking("database.open", scope: settings.path)
        return try DatabaseInstance(settings: settings, engine: engine, memoryLimit: memory.databaseLimit, readers: query.maxConcurrent, readOnly: readOnly)
    }

    /// Closes the database: new work is refused with `reason`, running work finishes, the file is
    /// checkpointed (it opens with no WAL to replay) and DuckDB releases it before this returns.
    public func close(reason: String = "closed") async {
        let open = state.withLock { state -> DatabaseInstance? in
            defer {
                state.instance = nil
                state.unavailableReason = reason
            }
            return state.instance
        }
        guard let instance = open else {
            // Mid-restore, or after an instance that never released the file, the lock stays.
            if !state.withLock({ $0.restoring || $0.leaked }) { releaseLock() }
            return
        }
        do {
            try await instance.drain()
        } catch {
            logger.warning("closing without waiting for running work", metadata: ["duckling.error": .string(String(describing: error))])
        }
        // The lock goes only once DuckDB has let go of the file.
        if await instance.close(checkpoint: !instance.readOnly, logger: logger) { releaseLock() }
        logger.info("database closed", metadata: ["duckling.path": .string(settings.path)])
    }

    private func releaseLock() {
        state.withLock { $0.lock = nil }
    }

    /// Keeps the database out of service with `reason` (something needs an operator).
    func markUnavailable(_ reason: String) {
        state.withLock {
            $0.instance = nil
            $0.unavailableReason = reason
        }
    }

    /// Marks a restore's swap under way: the file stays this process's while no instance is open.
    func setRestoring(_ restoring: Bool) {
        state.withLock { $0.restoring = restoring }
    }

    /// Keeps the database out of service for good: an instance did not release the file, so it
    /// stays this process's (locked) until the process exits.
    func markLeaked(_ reason: String) {
        markUnavailable(reason)
        state.withLock { $0.leaked = true }
    }

    /// Takes the instance out of service: new work is refused with `reason` until ``bringOnline(_:)``.
    func takeOffline(reason: String) throws -> DatabaseInstance {
        try state.withLock { state in
            guard let instance = state.instance else {
                throw DatabaseUnavailable(databaseID: settings.id, reason: state.unavailableReason ?? "not open", retryAfterSeconds: 5)
            }
            state.instance = nil
            state.unavailableReason = reason
            return instance
        }
    }

    /// Takes the database out of service for a file replacement and marks the file as being
    /// replaced, in one step: the instance, or nil when a failed reopen left none.
    func takeOfflineForReplace(reason: String) throws -> DatabaseInstance? {
        try state.withLock { state in
            guard let instance = state.instance else {
                guard state.reopenFailed, !state.restoring, !state.leaked else {
                    throw DatabaseUnavailable(databaseID: settings.id, reason: state.unavailableReason ?? "not open", retryAfterSeconds: 5)
                }
                state.restoring = true
                state.unavailableReason = reason
                return nil
            }
            state.instance = nil
            state.unavailableReason = reason
            state.restoring = true
            return instance
        }
    }

    func bringOnline(_ instance: DatabaseInstance) {
        let identity = FileIdentity(path: settings.path)
        state.withLock {
            $0.instance = instance
            $0.unavailableReason = nil
            $0.identity = identity
        }
    }

    func currentInstance() throws -> DatabaseInstance {
        try state.withLock { state in
            if let failed = state.failed {
                throw DatabaseUnavailable(databaseID: settings.id, reason: failed, retryAfterSeconds: 60, code: "database_failed")
            }
            guard let instance = state.instance else {
                throw DatabaseUnavailable(databaseID: settings.id, reason: state.unavailableReason ?? "not open", retryAfterSeconds: 5)
            }
            return instance
        }
    }

    /// Runs `body` with a read connection from the pool. With `queueLimit`, fails fast with
    /// ``AsyncSemaphore/QueueFull`` when that many callers already wait.
    func withReader<T: Sendable>(queueLimit: Int? = nil, _ body: (SerializedConnection) async throws -> T) async throws -> T {
        let lease = try await leaseReader(queueLimit: queueLimit)
        defer { lease.release() }
        return try await body(lease.connection)
    }

    /// A read connection that stays taken until ``ReaderLease/release()``, for results streamed
    /// after the call that started them has returned.
    func leaseReader(queueLimit: Int?, interrupter: Interrupter? = nil) async throws -> ReaderLease {
        let instance = try currentInstance()
        let connection = try await instance.readers.acquire(queueLimit: queueLimit, interrupter: interrupter)
        return ReaderLease(connection: connection, pool: instance.readers, gate: instance.gate, interrupter: interrupter)
    }

    /// Runs `body` with the exclusive write connection: sync writes pause until it returns, reads go on.
    public func withWriter<T: Sendable>(_ body: (SerializedConnection) async throws -> T) async throws -> T {
        let instance = try currentInstance()
        return try await instance.writeGate.withExclusive { try await body(instance.writer) }
    }

    /// Runs `body` with a write connection of its own for a sync run; several runs write at once,
    /// each in its own transaction, and all of them pause while an exclusive writer holds the gate.
    public func withSyncWriter<T: Sendable>(_ body: (SerializedConnection) async throws -> T) async throws -> T {
        let instance = try currentInstance()
        return try await instance.writeGate.withShared {
            let connection = try await instance.syncWriters.acquire(queueLimit: nil)
            defer { instance.syncWriters.release(connection) }
            return try await body(connection)
        }
    }

    /// Connections that load one sync run's staging tables side by side (one per DuckDB thread, so
    /// the inserts compress in parallel). Taken inside ``withSyncWriter(_:)``, dropped when the run ends.
    func loaderConnections() throws -> [SerializedConnection] {
        // Blocking (each connects to DuckDB): called on a connection's queue.
        let instance = try currentInstance()
        return try (0..<instance.loaderCount).map { index in
            try SerializedConnection(database: instance.database, label: "duckling.\(settings.id).load.\(index)")
        }
    }

    /// Read-pool use, for health and metrics; nil while the database is not open.
    public var poolUsage: PoolUsage? {
        state.withLock { $0.instance?.readers.usage }.map { PoolUsage(size: $0.size, inUse: $0.inUse, waiting: $0.waiting) }
    }

    /// Open and not marked failed: it serves queries.
    public var isOpen: Bool { state.withLock { $0.instance != nil && $0.failed == nil } }

    /// Why recovery gave up on the database, while it is failed.
    public var failure: String? { state.withLock { $0.failed } }

    /// Why the database is not serving, while it is not.
    public var unavailableReason: String? {
        state.withLock { $0.failed ?? ($0.instance == nil ? $0.unavailableReason ?? "not open" : nil) }
    }

    /// The open instance even while the database is marked failed (recovery checks it before it
    /// clears the mark).
    var instanceIgnoringFailure: DatabaseInstance? { state.withLock { $0.instance } }

    /// Keeps the database out of service after a recovery's reopen failed.
    func markReopenFailed(_ reason: String) {
        state.withLock {
            $0.instance = nil
            $0.unavailableReason = reason
            $0.reopenFailed = true
        }
    }

    /// Whether there is no instance because a recovery's reopen failed.
    var reopenFailedBefore: Bool { state.withLock { $0.instance == nil && $0.reopenFailed } }

    /// Why the file must not be reopened now (a restore is swapping it, or an instance did not
    /// release it), or nil.
    var reopenBlocker: String? {
        state.withLock { state in
            state.restoring ? "a restore is replacing the file" : state.leaked ? state.unavailableReason ?? "the file was not released" : nil
        }
    }

    /// Marks the database failed (recovery gave up) or clears the mark.
    func setFailed(_ reason: String?) {
        state.withLock { $0.failed = reason }
    }

    /// The identity of the file the open instance has, when it is open.
    var openedIdentity: FileIdentity? { state.withLock { $0.instance == nil ? nil : $0.identity } }

    /// Runs `body` with the write connection alongside sync runs (shared access): for small
    /// records that must not wait for a long sync, and that a backup's snapshot still pauses.
    func withSharedWriter<T: Sendable>(_ body: (SerializedConnection) async throws -> T) async throws -> T {
        let instance = try currentInstance()
        return try await instance.writeGate.withShared { try await body(instance.writer) }
    }

    /// The size of the database file and of its write-ahead log, when they exist.
    public var storageBytes: (file: Int64?, wal: Int64?) {
        func size(_ path: String) -> Int64? {
            (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value
        }
        return (size(settings.path), size(settings.path + ".wal"))
    }
}

/// A read connection taken from a pool; released exactly once.
final class ReaderLease: Sendable {
    let connection: SerializedConnection
    /// The read-only gate of the instance the connection belongs to.
    let gate: ReadOnlyGate
    private let pool: ConnectionPool
    private let released = Atomic(false)
    /// Registered with the pool, so a drain out of patience can stop the work holding the lease.
    private let tracking: UInt64?

    init(connection: SerializedConnection, pool: ConnectionPool, gate: ReadOnlyGate, interrupter: Interrupter?) {
        self.connection = connection
        self.pool = pool
        self.gate = gate
        self.tracking = interrupter.map(pool.track)
    }

    func release() {
        if !released.exchange(true, ordering: .acquiringAndReleasing) {
            if let tracking { pool.untrack(tracking) }
            pool.release(connection)
        }
    }

    deinit {
        release()
    }
}

/// How many read connections a database has, how many are busy, and how many callers wait.
public struct PoolUsage: Sendable, Equatable {
    public let size: Int
    public let inUse: Int
    public let waiting: Int
}
