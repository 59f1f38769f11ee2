public import DuckDBKit
public import Logging
public import Foundation
import ObjectStorage
import Synchronization

/// The DuckLake lake (DESIGN.md §9, §13): tables created, appended to, queried, time-travelled
/// and maintained through Duckling, with the catalog in a local DuckDB file or in PostgreSQL and
/// the data files in a local directory or S3. Caller SQL reaches it as the database `lake`.
public final class Lake: Sendable {
    /// The id under which `/api/query?db=` reaches the lake.
    public static let databaseID = "lake"

    public let settings: LakeSettings
    let engine: EngineSettings
    let memoryLimit: String
    let readerCount: Int
    let logger: Logger
    let redactor: SecretRedactor
    /// Where each append's and import's lineage and status go.
    public let reporter: JobReporter
    private let state = Mutex<Phase>(.closed)

    private enum Phase {
        case closed
        /// An open under way, with an id so that only its own outcome changes the state.
        case opening(UUID, Task<LakeInstance, any Error>)
        case open(LakeInstance)
        case shutDown
    }

    public init(settings: LakeSettings, engine: EngineSettings, memory: MemoryBudget, readers: Int, reporter: JobReporter = .silent, logger: Logger) {
        self.settings = settings
        self.reporter = reporter
        self.engine = engine
        self.memoryLimit = memory.databaseLimit
        self.readerCount = readers
        var logger = logger
        logger[metadataKey: "duckling.database"] = .string(Self.databaseID)
        self.logger = logger
        var secrets: [Secret] = [settings.s3?.accessKey, settings.s3?.secretKey, settings.s3?.sessionToken].compactMap { $0 }
        if case .postgres(let url) = settings.catalog {
            secrets.append(url)
            if let password = SecretRedactor.password(in: url.value) {
                secrets.append(Secret(password))
                if let decoded = password.removingPercentEncoding { secrets.append(Secret(decoded)) }
            }
        }
        self.redactor = SecretRedactor(secrets: secrets.map(\.value))
        // The upload directory exists before the first open: an import puts its file there first.
        try? FileManager.default.createDirectory(atPath: settings.workDirectory + "/uploads", withIntermediateDirectories: true)
    }

    /// Opens the instance and attaches the lake (creating a local catalog on first use), unless it
    /// is open. Work that needs the lake opens it too: a server that never touches it pays nothing.
    public func open() async throws {
        _ = try await currentInstance()
    }

    /// Closes the lake: new work is refused, running work finishes.
    public func close() async {
        let previous = state.withLock { state -> Phase in
            defer { state = .shutDown }
            return state
        }
        switch previous {
        case .open(let instance): await instance.close(logger: logger)
        case .opening(_, let task): if let instance = try? await task.value { await instance.close(logger: logger) }
        case .closed, .shutDown: break
        }
    }

    /// Whether there is a catalog to maintain without creating one: the lake is open, its catalog
    /// is in PostgreSQL, or its local catalog file exists.
    public var hasCatalog: Bool {
        if isOpen { return true }
        switch settings.catalog {
        case .postgres: return true
        case .file(let path): return FileManager.default.fileExists(atPath: path)
        }
    }

    public var isOpen: Bool {
        state.withLock { if case .open = $0 { true } else { false } }
    }

    /// Where the catalog is, without secrets.
    public var catalogDescription: String {
        switch settings.catalog {
        case .file(let path): path
        case .postgres(let url): ConfigurationSummary.redacted(url.value)
        }
    }

    /// The open instance, opening it first when needed (one open at a time; a failed open is
    /// retried by the next caller).
    func currentInstance() async throws -> LakeInstance {
        let (ready, id, task) = try state.withLock { state -> (LakeInstance?, UUID?, Task<LakeInstance, any Error>?) in
            switch state {
            case .open(let instance): return (instance, nil, nil)
            case .opening(let id, let task): return (nil, id, task)
            case .shutDown: throw DatabaseUnavailable(databaseID: Self.databaseID, reason: "shutting down", retryAfterSeconds: 5)
            case .closed:
                let id = UUID()
                let task = Task { [settings, engine, memoryLimit, readerCount, redactor, logger] in
                    try await BlockingIO.run {
                        Self.removeLeftoverUploads(in: settings.workDirectory + "/uploads")
                        defer { logger.info("lake attached", metadata: ["duckling.lake.data_path": .string(settings.dataPath.url)]) }
                        return try LakeInstance(settings: settings, engine: engine, memoryLimit: memoryLimit, readers: readerCount, redactor: redactor)
                    }
                }
                state = .opening(id, task)
                return (nil, id, task)
            }
        }
        if let ready { return ready }
        guard let id, let task else { throw DatabaseUnavailable(databaseID: Self.databaseID, reason: "not open", retryAfterSeconds: 5) }
        do {
            let instance = try await task.value
            let kept = state.withLock { state -> Bool in
                if case .opening(let current, _) = state, current == id { state = .open(instance) }
                if case .open(let current) = state { return current === instance }
                return false
            }
            // Only a shutdown during the open leaves the instance unkept; close() closes it.
            guard kept else { throw DatabaseUnavailable(databaseID: Self.databaseID, reason: "shutting down", retryAfterSeconds: 5) }
            return instance
        } catch {
            state.withLock { state in
                if case .opening(let current, _) = state, current == id { state = .closed }
            }
            throw error
        }
    }

    func leaseReader(queueLimit: Int?, interrupter: Interrupter?) async throws -> ReaderLease {
        let instance: LakeInstance
        do {
            instance = try await currentInstance()
        } catch let error as DatabaseUnavailable {
            throw error
        } catch {
            throw DatabaseUnavailable(databaseID: Self.databaseID, reason: LakeError.from(error, redactor: redactor).message, retryAfterSeconds: 30)
        }
        let connection = try await instance.readers.acquire(queueLimit: queueLimit, interrupter: interrupter)
        return ReaderLease(connection: connection, pool: instance.readers, gate: instance.gate, interrupter: interrupter)
    }

    /// Runs `body` on a write connection (on its queue), turning failures into ``LakeError``s
    /// without secrets or Duckling's own paths; an open transaction is rolled back on failure.
    func write<T: Sendable>(replacing paths: [String: String] = [:], _ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        do {
            let instance = try await currentInstance()
            let connection = try await instance.writers.acquire(queueLimit: nil)
            defer { instance.writers.release(connection) }
            return try await connection.run { [redactor] duckdb in
                do {
                    return try body(duckdb)
                } catch {
                    duckdb.rollbackIfInTransaction()
                    var failure = LakeError.from(error, redactor: redactor, replacing: paths)
                    if failure.code == "lake_conflict" {
                        // The snapshot the write lost to: the lake's newest, read after the rollback.
                        failure.snapshotID = try? Self.currentSnapshot(on: duckdb)
                    }
                    throw failure
                }
            }
        } catch {
            throw LakeError.from(error, redactor: redactor, replacing: paths)
        }
    }

    /// Runs `body` on a read connection in a read-only transaction (privileged: not through the gate).
    func read<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        do {
            let lease = try await leaseReader(queueLimit: nil, interrupter: nil)
            defer { lease.release() }
            return try await lease.connection.run { duckdb in
                try duckdb.execute("BEGIN TRANSACTION READ ONLY")
                defer { duckdb.rollbackIfInTransaction() }
                return try body(duckdb)
            }
        } catch {
            throw LakeError.from(error, redactor: redactor)
        }
    }

    /// A fresh file name for an upload in Duckling's own upload directory (which the lake's
    /// instance may read); the caller removes it.
    public func uploadFile(extension ext: String) -> URL {
        URL(fileURLWithPath: settings.workDirectory + "/uploads/" + UUID().uuidString.lowercased() + "." + ext)
    }

    /// Removes uploads a killed process left: files untouched for an hour (an upload being written
    /// or appended is younger; the CLI and a server may share the directory).
    static func removeLeftoverUploads(in directory: String) {
        let cutoff = Date().addingTimeInterval(-3600)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            let path = directory + "/" + name
            guard let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date, modified < cutoff else { continue }
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}
