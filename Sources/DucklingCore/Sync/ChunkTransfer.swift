import DuckDBKit

/// Moves the rows of source reads into a table of the main instance with DuckDB's own operators
/// on both sides: each read runs on its source session as
/// `SELECT bool_and(chunk_sink(token, columns…)) FROM (read)`, which copies every chunk into a
/// ``ChunkStream`` on the source's threads, in parallel, while the scan runs; on each loader
/// connection of the main instance, `INSERT … SELECT * FROM chunk_stream(token)` takes chunks by
/// reference, so the inserts compress and write side by side. Several reads (partitions) may feed
/// the same stream.
enum ChunkTransfer {
    /// Reads every `reads` to its end into `table` (committed, with `columns` in order; nobody else
    /// writes it), each loader inserting in its own transaction; returns the number of rows.
    static func run(
        _ reads: [(session: SourceSession, read: SourceRead)],
        columns: [Column],
        into table: String,
        loaders: [SerializedConnection],
        interrupter: Interrupter,
        progress: @escaping @Sendable (Int) -> Void
    ) async throws -> Int {
        // Only the loaders may read the stream: caller SQL on the same instance cannot, whatever the token.
        let stream = try ChunkStream(columns: columns, readableBy: Set(loaders.map(\.connectionID)), capacity: 32, progress: progress)
        // A reader waiting for room in the queue, or the insert waiting for a chunk, must not
        // outlive an interruption.
        let interruption = interrupter.whenInterrupted { reason in
            stream.fail(DuckDBError(code: .interrupted, kind: .interrupt, message: reason == .timeout ? "INTERRUPT Error: time limit reached" : "INTERRUPT Error: Interrupted!"))
        }
        defer { interrupter.remove(interruption) }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        try await withThrowingTaskGroup(of: Void.self) { readers in
                            for (session, read) in reads {
                                readers.addTask {
                                    try await produce(read, columns: columns, on: session, into: stream, interrupter: interrupter)
                                }
                            }
                            try await readers.waitForAll()
                        }
                        stream.finish()
                    } catch {
                        stream.fail(error)
                        throw error
                    }
                }
                // Each loader inserts the chunks it takes in its own transaction, so they compress
                // and write in parallel; the caller's table is committed and not yet read by anyone.
                for loader in loaders {
                    group.addTask {
                        do {
                            try await loader.run(interrupter: interrupter) { duckdb in
                                // The token is bound, so it is in no statement text a log could show.
                                _ = try duckdb.query("INSERT INTO main.\(SQL.quoted(table)) SELECT * FROM chunk_stream($1)", [.varchar(stream.token)])
                            }
                        } catch {
                            stream.fail(error)
                            throw error
                        }
                    }
                }
                try await group.waitForAll()
            }
        } catch {
            // The first failure is the cause; the other side only saw the stream end because of it.
            throw stream.error ?? error
        }
        let total = stream.rowsDelivered
        progress(total)
        return total
    }

    /// Runs `read` on `session`, its rows going into `stream` as the source produces them.
    private static func produce(
        _ read: SourceRead, columns: [Column], on session: SourceSession, into stream: ChunkStream, interrupter: Interrupter
    ) async throws {
        try await session.connection.run(interrupter: interrupter) { duckdb in
            if read.source.kind == .postgres {
                // Full reads split the table into ctid page ranges read in parallel; a read after a
                // watermark must not, or PostgreSQL scans every range instead of using the index
                // on the incremental column.
                try duckdb.execute("SET pg_use_ctid_scan = \(read.window == nil)")
            }
            let (sql, bindings) = read.statement()
            let arguments = ([SQL.literal(stream.token)] + columns.map { SQL.quoted($0.name) }).joined(separator: ", ")
            let statement = try duckdb.prepare("SELECT bool_and(chunk_sink(\(arguments))) FROM (\n\(sql)\n) AS _duckling_read")
            try statement.bind(bindings)
            try statement.run()
        }
    }
}
