import DuckDBKit

/// `{"columns":[{"name":…,"type":…}],"rows":[[…],…],"row_count":N,"elapsed_ms":T,"success":true}`.
/// `success` comes last, so a failure after rows were sent still ends in valid JSON that says so.
struct JSONResultEncoder: ResultEncoder {
    let columns: [Column]
    private let writers: [CellWriter]
    private var wroteRow = false

    init(columns: [Column]) {
        self.columns = columns
        self.writers = columns.map { CellWriter(type: $0.type) }
    }

    mutating func begin(into out: inout [UInt8]) {
        out.append(ascii: "{\"columns\":[")
        for (index, column) in columns.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(ascii: "{\"name\":")
            out.append(jsonString: column.name)
            out.append(ascii: ",\"type\":")
            out.append(jsonString: column.type.sqlName)
            out.append(UInt8(ascii: "}"))
        }
        out.append(ascii: "],\"rows\":[")
    }

    mutating func encode(_ chunk: DataChunk, into out: inout [UInt8]) throws {
        let vectors = (0..<chunk.columnCount).map { chunk.column($0) }
        for row in 0..<chunk.count {
            if wroteRow { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "["))
            wroteRow = true
            for (index, vector) in vectors.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                try writers[index].writeJSON(vector, row: row, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
    }

    mutating func end(rowCount: Int, elapsedMilliseconds: Double, into out: inout [UInt8]) {
        out.append(ascii: "],\"row_count\":")
        out.append(integer: rowCount)
        out.append(ascii: ",\"elapsed_ms\":")
        out.append(text: String(Double(Int(elapsedMilliseconds * 1000)) / 1000))
        out.append(ascii: ",\"success\":true}")
    }

    mutating func fail(_ error: QueryError, rowCount: Int, into out: inout [UInt8]) -> Bool {
        out.append(ascii: "],\"row_count\":")
        out.append(integer: rowCount)
        out.append(ascii: ",\"success\":false,\"error\":{\"code\":")
        out.append(jsonString: error.code)
        out.append(ascii: ",\"message\":")
        out.append(jsonString: error.message)
        out.append(ascii: "}}")
        return true
    }
}
