import DuckDBKit

/// The query side of a Parquet export: hands each chunk to the ``ChunkStream`` that DuckDB's
/// Parquet writer reads (``ParquetStream``), producing no bytes itself. Pushing waits while the
/// writer is behind, so the query goes no faster than the client reads.
struct ParquetChunkEncoder: ResultEncoder {
    let stream: ChunkStream

    mutating func begin(into out: inout [UInt8]) {}

    mutating func encode(_ chunk: DataChunk, into out: inout [UInt8]) throws {
        try stream.push(chunk)
    }

    mutating func end(rowCount: Int, elapsedMilliseconds: Double, into out: inout [UInt8]) {
        stream.finish()
    }

    mutating func fail(_ error: QueryError, rowCount: Int, into out: inout [UInt8]) -> Bool {
        stream.fail(error)
        return false
    }
}
