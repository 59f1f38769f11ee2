import AsyncAlgorithms
import DuckDBKit

/// Moves result chunks from source sessions into an appender on the main instance, reading the
/// next batch while the last one is appended. Several readers (partitions) may feed one appender.
enum ChunkTransfer {
    /// Chunks fetched by one job and appended by another. Safety: a fetched chunk owns its memory
    /// (DuckDB copies the rows out of the result) and is used by one thread at a time.
    struct Batch: @unchecked Sendable {
        let chunks: [DataChunk]
        let rows: Int
    }

    /// Reads `read` on `session` to its end and appends every row; returns the number of rows.
    static func run(
        _ reads: [(session: SourceSession, read: SourceRead)],
        into writer: SerializedConnection,
        appender: ConnectionBound<Appender>,
        interrupter: Interrupter,
        progress: @escaping @Sendable (Int) -> Void
    ) async throws -> Int {
        let channel = AsyncChannel<Batch>()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { channel.finish() }
                try await withThrowingTaskGroup(of: Void.self) { readers in
                    for (session, read) in reads {
                        readers.addTask { try await produce(read, on: session, into: channel, interrupter: interrupter) }
                    }
                    try await readers.waitForAll()
                }
            }
            var total = 0
            for await batch in channel {
                try await writer.run(interrupter: interrupter) { duckdb in
                    let appender = duckdb.unwrap(appender)
                    for chunk in batch.chunks { try appender.append(chunk) }
                }
                total += batch.rows
                progress(total)
            }
            try await group.waitForAll()
            return total
        }
    }

    private static func produce(_ read: SourceRead, on session: SourceSession, into channel: AsyncChannel<Batch>, interrupter: Interrupter) async throws {
        let connection = session.connection
        let result = try await connection.run(interrupter: interrupter) { duckdb in
            if read.source.kind == .postgres {
                // Full reads split the table into ctid page ranges read in parallel; a read after a
                // watermark must not, or PostgreSQL scans every range instead of using the index
                // on the incremental column.
                try duckdb.execute("SET pg_use_ctid_scan = \(read.window == nil)")
            }
            let (sql, bindings) = read.statement()
            let statement = try duckdb.prepare(sql)
            try statement.bind(bindings)
            return connection.bind(try statement.execute(streaming: true), to: duckdb)
        }
        while true {
            let batch = try await connection.run(interrupter: interrupter) { duckdb -> Batch? in
                let result = duckdb.unwrap(result)
                var chunks: [DataChunk] = []
                var rows = 0
                while rows < 65_536, let chunk = try result.nextChunk() {
                    chunks.append(chunk)
                    rows += chunk.count
                }
                return chunks.isEmpty ? nil : Batch(chunks: chunks, rows: rows)
            }
            guard let batch else { return }
            await channel.send(batch)
            try Task.checkCancellation()
        }
    }
}
