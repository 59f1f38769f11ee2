public import DuckDBKit
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How Parquet results are written (`PARQUET_COMPRESSION`, `PARQUET_ROW_GROUP_SIZE`).
public struct ParquetSettings: Sendable {
    /// The codecs DuckDB's Parquet writer knows.
    public static let compressions: Set<String> = ["uncompressed", "snappy", "gzip", "zstd", "brotli", "lz4", "lz4_raw"]

    public var compression: String
    /// Rows per row group; nil keeps DuckDB's default (122,880).
    public var rowGroupSize: Int?
    /// The export instance's `memory_limit`: it holds one row group per running export.
    public var memoryLimit: String

    public init(compression: String = "zstd", rowGroupSize: Int? = nil, memoryLimit: String = "1GB") {
        self.compression = compression
        self.rowGroupSize = rowGroupSize
        self.memoryLimit = memoryLimit
    }
}

/// The DuckDB instance that writes Parquet results: an in-memory instance of its own, since the
/// databases' instances have no file access. Each export gets a connection on which
/// `COPY (SELECT * FROM chunk_stream(token)) TO '/dev/fd/N' (FORMAT parquet)` reads the query's
/// chunks and writes into a pipe; no SQL of a caller ever runs here, and the instance can write
/// nowhere but `/dev/fd/`.
final class ParquetExporter: Sendable {
    let settings: ParquetSettings
    private let database = Mutex<Database?>(nil)
    /// Exports running now (from ``prepare(limit:)`` until their writer has finished).
    private let running = Mutex(0)

    init(settings: ParquetSettings) {
        self.settings = settings
    }

    deinit {
        database.withLock { $0?.close() }
    }

    /// A connection and a pipe for one export, opening the instance on first use. Refused (429)
    /// while `limit` exports run. Blocking (DuckDB opens and connects here): call it off the
    /// cooperative pool.
    func prepare(limit: Int) throws -> ParquetExport {
        let admitted = running.withLock { running in
            guard running < limit else { return false }
            running += 1
            return true
        }
        guard admitted else {
            throw QueryError(.overloaded, code: "too_many_queries",
                             message: "too many Parquet exports are running; retry shortly", retryAfterSeconds: 1)
        }
        do {
            return try open()
        } catch {
            finished()
            throw error
        }
    }

    /// One export less.
    fileprivate func finished() {
        running.withLock { $0 -= 1 }
    }

    /// Columns with names made distinct as DuckDB does (case-insensitively): `id, id` → `id, id_1`.
    static func distinctNames(_ columns: [Column]) -> [Column] {
        zip(columns, uniqueNames(columns, ignoringCase: true)).map { Column(name: $1, type: $0.type) }
    }

    private func open() throws -> ParquetExport {
        let database = try database.withLock { database -> Database in
            if let database { return database }
            // A reader that goes away must make the writer's next write fail, not kill the process.
            signal(SIGPIPE, SIG_IGN)
            let opened = try Database(path: nil, configuration: DatabaseConfiguration(
                memoryLimit: settings.memoryLimit,
                additionalSettings: ["allow_persistent_secrets": "false", "preserve_insertion_order": "true"]))
            do {
                let setup = try opened.connect()
                defer { setup.close() }
                try setup.registerChunkStreamFunction()
                try setup.execute("SET allowed_directories = ['/dev/fd/']")
                try setup.execute("SET enable_external_access = false")
                try setup.execute("SET lock_configuration = true")
            } catch {
                opened.close()
                throw error
            }
            database = opened
            return opened
        }
        return try ParquetExport(connection: SerializedConnection(database: database, label: "duckling.parquet"), settings: settings,
                                 exporter: self)
    }
}

/// One export's connection and pipe. DuckDB writes the pipe's write end; the body reads its read end.
final class ParquetExport: Sendable {
    let connection: SerializedConnection
    let settings: ParquetSettings
    let readEnd: Int32
    private let writeEnd: Mutex<Int32?>
    private let exporter: ParquetExporter
    private let done = Mutex(false)

    fileprivate init(connection: SerializedConnection, settings: ParquetSettings, exporter: ParquetExporter) throws {
        self.exporter = exporter
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else {
            let reason = String(cString: strerror(errno))
            Task { await connection.close() }
            throw DuckDBError(code: .executionFailed, message: "could not create the Parquet pipe: \(reason)")
        }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        // A larger pipe means fewer wake-ups per row group (Linux allows 1 MiB without privileges;
        // F_SETPIPE_SZ, which Glibc only declares for _GNU_SOURCE).
        _ = fcntl(ends[1], 1031, 1 << 20)
        self.connection = connection
        self.settings = settings
        self.readEnd = ends[0]
        self.writeEnd = Mutex(ends[1])
    }

    /// The `COPY` that writes the stream's chunks as Parquet into the pipe.
    func copyStatement() throws -> String {
        guard let end = writeEnd.withLock({ $0 }) else {
            throw DuckDBError(code: .executionFailed, message: "the Parquet pipe is closed")
        }
        // Checked when the configuration loads; checked again, since it goes into SQL text.
        guard ParquetSettings.compressions.contains(settings.compression) else {
            throw DuckDBError(code: .invalidValue, message: "unknown Parquet compression '\(settings.compression)'")
        }
        var options = ["FORMAT parquet", "COMPRESSION \(settings.compression)"]
        if let rows = settings.rowGroupSize { options.append("ROW_GROUP_SIZE \(rows)") }
        return "COPY (SELECT * FROM chunk_stream($1)) TO '/dev/fd/\(end)' (\(options.joined(separator: ", ")))"
    }

    /// Closes the write end, so the reader sees the end of the data once DuckDB has closed its own.
    func closeWriteEnd() {
        writeEnd.withLock { end in
            if let fd = end { close(fd) }
            end = nil
        }
    }

    /// The writer has finished: the connection closes and the export no longer counts. Once.
    func finish() async {
        guard done.withLock({ done in defer { done = true }; return !done }) else { return }
        closeWriteEnd()
        await connection.close()
        exporter.finished()
    }

    /// Frees an export that never started: both ends and the connection.
    func abandon() {
        close(readEnd)
        Task { await finish() }
    }
}
