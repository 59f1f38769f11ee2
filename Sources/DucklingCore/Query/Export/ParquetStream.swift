import DuckDBKit
import Foundation
import ObjectStorage
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A query's result as a Parquet file written by DuckDB's own writer, read as it is written.
///
/// Three stages, each waiting only on the next, so memory stays bounded by a few chunks and one
/// row group: the query (a ``QueryStream`` driven to its end by a task of its own) hands its
/// chunks to a ``ChunkStream``; on the export instance, `COPY (SELECT * FROM chunk_stream(…)) TO
/// '/dev/fd/N'` writes them into a pipe; ``next()`` reads the pipe. A slow client holds the pipe
/// full, which holds the writer, which holds the query.
///
/// A time limit, a client that leaves or ``cancel()`` fails the chunk stream and closes the
/// pipe's read end, so a writer blocked on a full pipe fails at once; the body is then cut short.
public final class ParquetStream: ResultBody {
    private let query: QueryStream
    private let chunks: ChunkStream
    private let export: ParquetExport
    private let interrupter: Interrupter
    private let copy: Task<Void, any Error>
    private let pump: Task<Void, any Error>
    /// Fires the time limit at the request's deadline: the query's own is gone once it has ended,
    /// but the writer may still be writing, or blocked on a client that stopped reading.
    private let watchdog: Task<Void, Never>
    private let state = Mutex(State())

    private struct State {
        var pending: [UInt8]?
        /// The pipe reached its end and both stages succeeded.
        var complete = false
        /// A read of the pipe is running: the read end is closed after it, not under it.
        var reading = false
        var closeRequested = false
        var readClosed = false
        var registration: Interrupter.Registration?
    }

    private init(query: QueryStream, chunks: ChunkStream, export: ParquetExport, interrupter: Interrupter, deadline: ContinuousClock.Instant) {
        self.query = query
        self.chunks = chunks
        self.export = export
        self.interrupter = interrupter
        copy = Task {
            do {
                let sql = try export.copyStatement()
                try await export.connection.run(interrupter: interrupter) { duckdb in
                    // The token is bound, so it is in no statement text a log could show.
                    let statement = try duckdb.prepare(sql)
                    try statement.bind([.varchar(chunks.token)])
                    try statement.run()
                }
            } catch {
                chunks.fail(error)
                await export.finish()
                throw error
            }
            await export.finish()
        }
        pump = Task {
            do {
                while try await query.next() != nil {}
            } catch {
                chunks.fail(error)
                throw error
            }
        }
        watchdog = Task {
            guard (try? await Task.sleep(until: deadline)) != nil else { return }
            interrupter.interrupt(.timeout)
        }
    }

    deinit {
        watchdog.cancel()
        cancel()
        if let registration = state.withLock({ $0.registration }) { interrupter.remove(registration) }
    }

    /// Starts writing and waits for the first bytes, so a query or export that fails at once is
    /// thrown here as a ``QueryError`` (DuckDB refusing a type for Parquet, say).
    static func start(
        query: QueryStream, chunks: ChunkStream, export: ParquetExport, interrupter: Interrupter, deadline: ContinuousClock.Instant
    ) async throws -> ParquetStream {
        let stream = ParquetStream(query: query, chunks: chunks, export: export, interrupter: interrupter, deadline: deadline)
        let registration = interrupter.whenInterrupted { [weak stream, chunks] reason in
            chunks.fail(QueryError.from(CancellationError(), interruption: reason))
            stream?.closeReadEnd()
        }
        stream.state.withLock { $0.registration = registration }
        do {
            let first = try await stream.next()
            stream.state.withLock { $0.pending = first ?? [] }
        } catch {
            stream.cancel()
            throw stream.failure(error)
        }
        return stream
    }

    public func takeCompleteBody() throws -> [UInt8]? {
        state.withLock { state in
            guard state.complete, let pending = state.pending else { return nil }
            state.pending = nil
            return pending
        }
    }

    public func next() async throws -> [UInt8]? {
        let (pending, complete) = state.withLock { state in
            defer { state.pending = nil }
            return (state.pending, state.complete)
        }
        if let pending { return pending }
        if complete { return nil }
        if let bytes = try await read() { return bytes }
        // The end of the pipe: the file is whole only if the query and the writer both succeeded.
        let results = (await copy.result, await pump.result)
        for case .failure(let error) in [results.0, results.1] { throw failure(error) }
        state.withLock { $0.complete = true }
        watchdog.cancel()
        return nil
    }

    public func cancel() {
        query.cancel()
        chunks.fail(QueryError.from(CancellationError(), interruption: .cancelled))
        closeReadEnd()
    }

    /// The error to report: the first failure of either stage, named by the interruption if any,
    /// without DuckDB's excerpt of the export's own statement (`LINE 1: COPY (SELECT * FROM chunk_stream…`).
    private func failure(_ error: any Error) -> QueryError {
        let failure = QueryError.from(chunks.error ?? error, interruption: interrupter.reason)
        guard let excerpt = failure.message.range(of: "\nLINE "), failure.message[excerpt.lowerBound...].contains("chunk_stream") else {
            return failure
        }
        let message = failure.message[..<excerpt.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
        return QueryError(failure.category, code: failure.code, message: message, retryAfterSeconds: failure.retryAfterSeconds)
    }

    /// Up to 1 MiB of the pipe, waiting for data; nil at its end. Runs off the cooperative pool.
    private func read() async throws -> [UInt8]? {
        let fd = export.readEnd
        let open = state.withLock { state in
            guard !state.readClosed, !state.closeRequested else { return false }
            state.reading = true
            return true
        }
        guard open else { throw failure(CancellationError()) }
        defer {
            state.withLock { state in
                state.reading = false
                if state.closeRequested && !state.readClosed {
                    close(fd)
                    state.readClosed = true
                }
            }
        }
        return try await BlockingIO.run { () throws -> [UInt8]? in
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    buffer.removeLast(buffer.count - count)
                    return buffer
                }
                if count == 0 { return nil }
                if errno != EINTR {
                    throw DuckDBError(code: .executionFailed, message: "reading the Parquet output failed: \(String(cString: strerror(errno)))")
                }
            }
        }
    }

    /// Closes the pipe's read end now, or after the read that is running.
    private func closeReadEnd() {
        let fd = export.readEnd
        state.withLock { state in
            guard !state.readClosed else { return }
            if state.reading {
                state.closeRequested = true
            } else {
                close(fd)
                state.readClosed = true
            }
        }
    }
}
