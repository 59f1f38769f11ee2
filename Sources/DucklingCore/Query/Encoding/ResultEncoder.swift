import DuckDBKit

/// Turns a result's columns and chunks into the bytes of one response format.
protocol ResultEncoder {
    /// Bytes before the first row.
    mutating func begin(into out: inout [UInt8])
    mutating func encode(_ chunk: DataChunk, into out: inout [UInt8]) throws
    /// Bytes after the last row.
    mutating func end(rowCount: Int, elapsedMilliseconds: Double, into out: inout [UInt8])
    /// Bytes that report a failure after rows were sent, or false when the format cannot say so
    /// in-band (the response is then cut short, which the client sees as an incomplete body).
    mutating func fail(_ error: QueryError, rowCount: Int, into out: inout [UInt8]) -> Bool
}

/// Column names made unique for formats that key values by name (`a`, `a_1`, `a_2`, …); with
/// `ignoringCase`, names that differ only in case count as the same (as DuckDB's own columns do).
func uniqueNames(_ columns: [Column], ignoringCase: Bool = false) -> [String] {
    var seen: Set<String> = []
    let key: (String) -> String = { ignoringCase ? $0.lowercased() : $0 }
    return columns.map { column in
        var name = column.name
        var suffix = 1
        while seen.contains(key(name)) {
            name = "\(column.name)_\(suffix)"
            suffix += 1
        }
        seen.insert(key(name))
        return name
    }
}
