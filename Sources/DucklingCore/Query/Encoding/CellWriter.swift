import DuckDBKit

/// Writes one column's cells as JSON or CSV text, reading common scalar types straight from the
/// vector and decoding everything else through ``DuckDBValue``.
struct CellWriter {
    private enum Path {
        case boolean
        case int8, int16, int32, uint8, uint16, uint32
        case int64, uint64
        case float, double
        case varchar
        case date, timestamp, timestampTZ
        case decimal(scale: Int, width: Int)
        case generic
    }

    private let path: Path

    init(type: LogicalType) {
        switch type {
        case .boolean: path = .boolean
        case .tinyint: path = .int8
        case .smallint: path = .int16
        case .integer: path = .int32
        case .utinyint: path = .uint8
        case .usmallint: path = .uint16
        case .uinteger: path = .uint32
        case .bigint: path = .int64
        case .ubigint: path = .uint64
        case .float: path = .float
        case .double: path = .double
        case .varchar: path = .varchar
        case .date: path = .date
        case .timestamp: path = .timestamp
        case .timestampTZ: path = .timestampTZ
        case .decimal(let width, let scale): path = .decimal(scale: scale, width: width)
        default: path = .generic
        }
    }

    /// The cell as a JSON value.
    func writeJSON(_ vector: ColumnVector, row: Int, into out: inout [UInt8]) throws {
        if vector.isNull(row) {
            out.append(ascii: "null")
            return
        }
        switch path {
        case .boolean, .int8, .int16, .int32, .uint8, .uint16, .uint32:
            writeText(vector, row: row, into: &out)
        case .int64, .uint64, .date, .timestamp, .timestampTZ, .decimal:
            out.append(UInt8(ascii: "\""))
            writeText(vector, row: row, into: &out)
            out.append(UInt8(ascii: "\""))
        case .float: JSONValueWriter.writeFloating(vector.load(Float.self, at: row), into: &out)
        case .double: JSONValueWriter.writeFloating(vector.load(Double.self, at: row), into: &out)
        case .varchar: out.append(jsonString: vector.bytes(at: row))
        case .generic: JSONValueWriter.write(try vector.value(at: row), into: &out)
        }
    }

    /// The cell as a CSV field: DuckDB's text for the value; nothing for NULL.
    func writeCSV(_ vector: ColumnVector, row: Int, into out: inout [UInt8]) throws {
        if vector.isNull(row) { return }
        switch path {
        case .varchar: out.append(csvField: vector.bytes(at: row))
        case .generic: out.append(csvField: try vector.value(at: row).text ?? "")
        default: writeText(vector, row: row, into: &out)
        }
    }

    /// DuckDB's text of a non-NULL scalar on a fast path (never needs CSV quoting).
    private func writeText(_ vector: ColumnVector, row: Int, into out: inout [UInt8]) {
        switch path {
        case .boolean: vector.load(UInt8.self, at: row) != 0 ? out.append(ascii: "true") : out.append(ascii: "false")
        case .int8: out.append(integer: vector.load(Int8.self, at: row))
        case .int16: out.append(integer: vector.load(Int16.self, at: row))
        case .int32: out.append(integer: vector.load(Int32.self, at: row))
        case .uint8: out.append(integer: vector.load(UInt8.self, at: row))
        case .uint16: out.append(integer: vector.load(UInt16.self, at: row))
        case .uint32: out.append(integer: vector.load(UInt32.self, at: row))
        case .int64: out.append(integer: vector.load(Int64.self, at: row))
        case .uint64: out.append(integer: vector.load(UInt64.self, at: row))
        case .float: out.append(text: NumericText.floating(vector.load(Float.self, at: row)))
        case .double: out.append(text: NumericText.floating(vector.load(Double.self, at: row)))
        case .date: out.append(text: TemporalText.date(days: vector.load(Int32.self, at: row)))
        case .timestamp: out.append(text: TemporalText.timestamp(micros: vector.load(Int64.self, at: row)))
        case .timestampTZ: out.append(text: TemporalText.timestampTZ(micros: vector.load(Int64.self, at: row)))
        case .decimal(let scale, let width):
            out.append(text: NumericText.decimal(vector.decimalStorage(at: row, width: width), scale: scale))
        case .varchar, .generic:
            preconditionFailure("no fast text path for this column")
        }
    }
}
