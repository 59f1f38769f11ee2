import DuckDBKit

/// The Arrow IPC stream format: the schema, a record batch per chunk, the end-of-stream marker.
/// A failure after the first batch cannot be said in-band, so the response is cut short.
struct ArrowResultEncoder: ResultEncoder {
    private let encoder: ArrowStreamEncoder

    init(result: QueryResult) throws {
        encoder = try result.arrowStreamEncoder()
    }

    mutating func begin(into out: inout [UInt8]) {
        encoder.schema(into: &out)
    }

    mutating func encode(_ chunk: DataChunk, into out: inout [UInt8]) throws {
        try encoder.encode(chunk, into: &out)
    }

    mutating func end(rowCount: Int, elapsedMilliseconds: Double, into out: inout [UInt8]) {
        out.append(contentsOf: ArrowStreamEncoder.endOfStream)
    }

    mutating func fail(_ error: QueryError, rowCount: Int, into out: inout [UInt8]) -> Bool { false }
}
