import DuckDBKit

/// One JSON object per row, keyed by column name (made unique), one per line.
struct NDJSONResultEncoder: ResultEncoder {
    private let keys: [[UInt8]]
    private let writers: [CellWriter]

    init(columns: [Column]) {
        self.keys = uniqueNames(columns).map { name in
            var key: [UInt8] = []
            key.append(jsonString: name)
            key.append(UInt8(ascii: ":"))
            return key
        }
        self.writers = columns.map { CellWriter(type: $0.type) }
    }

    mutating func begin(into out: inout [UInt8]) {}

    mutating func encode(_ chunk: DataChunk, into out: inout [UInt8]) throws {
        let vectors = (0..<chunk.columnCount).map { chunk.column($0) }
        for row in 0..<chunk.count {
            out.append(UInt8(ascii: "{"))
            for (index, vector) in vectors.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: keys[index])
                try writers[index].writeJSON(vector, row: row, into: &out)
            }
            out.append(contentsOf: [UInt8(ascii: "}"), 0x0A])
        }
    }

    mutating func end(rowCount: Int, elapsedMilliseconds: Double, into out: inout [UInt8]) {}

    mutating func fail(_ error: QueryError, rowCount: Int, into out: inout [UInt8]) -> Bool { false }
}
