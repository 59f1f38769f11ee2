import DuckDBKit

/// RFC 4180 CSV with a header row; values as DuckDB writes them, NULL as an empty field.
struct CSVResultEncoder: ResultEncoder {
    private let columns: [Column]
    private let writers: [CellWriter]

    init(columns: [Column]) {
        self.columns = columns
        self.writers = columns.map { CellWriter(type: $0.type) }
    }

    mutating func begin(into out: inout [UInt8]) {
        for (index, column) in columns.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(csvField: column.name)
        }
        out.append(0x0A)
    }

    mutating func encode(_ chunk: DataChunk, into out: inout [UInt8]) throws {
        let vectors = (0..<chunk.columnCount).map { chunk.column($0) }
        for row in 0..<chunk.count {
            for (index, vector) in vectors.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                try writers[index].writeCSV(vector, row: row, into: &out)
            }
            out.append(0x0A)
        }
    }

    mutating func end(rowCount: Int, elapsedMilliseconds: Double, into out: inout [UInt8]) {}

    mutating func fail(_ error: QueryError, rowCount: Int, into out: inout [UInt8]) -> Bool { false }
}
