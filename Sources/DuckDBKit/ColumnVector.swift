internal import CDuckDB

/// One column of a ``DataChunk``: DuckDB's vector with its validity mask, read in place.
///
/// Fast accessors (``load(_:at:)``, ``bytes(at:)``) let encoders read primitive columns without
/// building values; ``value(at:)`` decodes any type, nested ones included.
public struct ColumnVector {
    let handle: duckdb_vector?
    public let type: LogicalType
    let data: UnsafeMutableRawPointer?
    let validity: UnsafeMutablePointer<UInt64>?
    /// Keeps the chunk that owns the vector's memory alive.
    let owner: DataChunk

    init(handle: duckdb_vector?, type: LogicalType, owner: DataChunk) {
        self.handle = handle
        self.type = type
        self.data = duckdb_vector_get_data(handle)
        self.validity = duckdb_vector_get_validity(handle)
        self.owner = owner
    }

    /// True if the row holds NULL.
    @inline(__always)
    public func isNull(_ row: Int) -> Bool {
        guard let validity else { return false }
        return validity[row >> 6] & (1 << UInt64(row & 63)) == 0
    }

    /// The raw value of a fixed-width column (for example `Int64` for BIGINT, `Int32` for DATE).
    /// The caller picks `T` to match the type's physical layout.
    @inline(__always)
    public func load<T: BitwiseCopyable>(_: T.Type, at row: Int) -> T {
        data.unsafelyUnwrapped.load(fromByteOffset: row &* MemoryLayout<T>.stride, as: T.self)
    }

    /// The bytes of a VARCHAR, BLOB, BIT, BIGNUM or GEOMETRY entry; valid while the chunk lives.
    @inline(__always)
    public func bytes(at row: Int) -> UnsafeRawBufferPointer {
        Self.bytes(in: UnsafeRawPointer(data.unsafelyUnwrapped), at: row)
    }

    /// The bytes of entry `row` of a string vector's data (`duckdb_string_t`: up to 12 bytes inline).
    @inline(__always)
    static func bytes(in data: UnsafeRawPointer, at row: Int) -> UnsafeRawBufferPointer {
        let entry = data + row &* 16
        let length = Int(entry.load(as: UInt32.self))
        if length <= 12 {
            return UnsafeRawBufferPointer(start: entry + 4, count: length)
        }
        return UnsafeRawBufferPointer(start: entry.load(fromByteOffset: 8, as: UnsafeRawPointer.self), count: length)
    }

    /// Decodes the value at `row`.
    public func value(at row: Int) throws -> DuckDBValue {
        if isNull(row) { return .null }
        switch type {
        case .boolean: return .boolean(load(UInt8.self, at: row) != 0)
        case .tinyint: return .tinyint(load(Int8.self, at: row))
        case .smallint: return .smallint(load(Int16.self, at: row))
        case .integer: return .integer(load(Int32.self, at: row))
        case .bigint: return .bigint(load(Int64.self, at: row))
        case .hugeint: return .hugeint(load(duckdb_hugeint.self, at: row).int128)
        case .utinyint: return .utinyint(load(UInt8.self, at: row))
        case .usmallint: return .usmallint(load(UInt16.self, at: row))
        case .uinteger: return .uinteger(load(UInt32.self, at: row))
        case .ubigint: return .ubigint(load(UInt64.self, at: row))
        case .uhugeint: return .uhugeint(load(duckdb_uhugeint.self, at: row).uint128)
        case .float: return .float(load(Float.self, at: row))
        case .double: return .double(load(Double.self, at: row))
        case .decimal(let width, let scale):
            return .decimal(DuckDBValue.Decimal(value: decimalStorage(at: row, width: width), width: width, scale: scale))
        case .varchar: return .varchar(String(decoding: bytes(at: row), as: UTF8.self))
        case .blob: return .blob(Array(bytes(at: row)))
        case .bit: return .bit(DuckDBValue.BitString(storage: bytes(at: row)))
        case .bignum: return .bignum(DuckDBValue.BigNum(storage: bytes(at: row)))
        case .geometry: return .geometry(wkb: Array(bytes(at: row)))
        case .uuid: return .uuid(uuid(at: row))
        case .date: return .date(days: load(Int32.self, at: row))
        case .time: return .time(micros: load(Int64.self, at: row))
        case .timeNS: return .timeNS(nanos: load(Int64.self, at: row))
        case .timeTZ:
            let (micros, offset) = timeTZ(at: row)
            return .timeTZ(micros: micros, offsetSeconds: offset)
        case .timestamp: return .timestamp(micros: load(Int64.self, at: row))
        case .timestampS: return .timestampS(seconds: load(Int64.self, at: row))
        case .timestampMS: return .timestampMS(millis: load(Int64.self, at: row))
        case .timestampNS: return .timestampNS(nanos: load(Int64.self, at: row))
        case .timestampTZ: return .timestampTZ(micros: load(Int64.self, at: row))
        case .interval:
            let interval = load(duckdb_interval.self, at: row)
            return .interval(DuckDBValue.Interval(months: interval.months, days: interval.days, micros: interval.micros))
        case .enumeration(let values):
            return .enumeration(values[enumIndex(at: row, count: values.count)])
        case .list(let element):
            let entry = load(duckdb_list_entry.self, at: row)
            let child = ColumnVector(handle: duckdb_list_vector_get_child(handle), type: element, owner: owner)
            return .list(try (0..<Int(entry.length)).map { try child.value(at: Int(entry.offset) + $0) })
        case .array(let element, let size):
            let child = ColumnVector(handle: duckdb_array_vector_get_child(handle), type: element, owner: owner)
            return .array(try (0..<size).map { try child.value(at: row * size + $0) })
        case .structure(let fields):
            return .structure(try fields.enumerated().map { index, field in
                DuckDBValue.Field(name: field.name, value: try structChild(index, type: field.type).value(at: row))
            })
        case .map(let keyType, let valueType):
            let entry = load(duckdb_list_entry.self, at: row)
            let entries = ColumnVector(
                handle: duckdb_list_vector_get_child(handle),
                type: .structure([.init(name: "key", type: keyType), .init(name: "value", type: valueType)]),
                owner: owner)
            let keys = entries.structChild(0, type: keyType)
            let values = entries.structChild(1, type: valueType)
            return .map(try (0..<Int(entry.length)).map { offset in
                let index = Int(entry.offset) + offset
                return DuckDBValue.MapEntry(key: try keys.value(at: index), value: try values.value(at: index))
            })
        case .union(let members):
            let tag = Int(structChild(0, type: .utinyint).load(UInt8.self, at: row))
            guard tag < members.count else {
                throw DuckDBError(code: .invalidValue, message: "union tag \(tag) out of range for \(type.sqlName)")
            }
            return .union(tag: members[tag].name, value: try structChild(tag + 1, type: members[tag].type).value(at: row))
        case .sqlNull:
            return .null
        case .variant, .unknown:
            throw DuckDBError(
                code: .unsupportedType, kind: .invalidInput,
                message: "Invalid Input Error: values of type \(type.sqlName) cannot be read through the C API; cast them in SQL (for example to VARCHAR or JSON)")
        }
    }

    /// The child vector `index` of a STRUCT (or UNION, whose child 0 is the tag).
    func structChild(_ index: Int, type: LogicalType) -> ColumnVector {
        ColumnVector(handle: duckdb_struct_vector_get_child(handle, idx_t(index)), type: type, owner: owner)
    }

    /// The unscaled value of a DECIMAL entry, whatever its storage width.
    public func decimalStorage(at row: Int, width: Int) -> Int128 {
        switch LogicalType.decimalStorageBytes(width: width) {
        case 2: Int128(load(Int16.self, at: row))
        case 4: Int128(load(Int32.self, at: row))
        case 8: Int128(load(Int64.self, at: row))
        default: load(duckdb_hugeint.self, at: row).int128
        }
    }

    /// The dictionary index of an ENUM entry.
    public func enumIndex(at row: Int, count: Int) -> Int {
        switch LogicalType.enumStorageBytes(count: count) {
        case 1: Int(load(UInt8.self, at: row))
        case 2: Int(load(UInt16.self, at: row))
        default: Int(load(UInt32.self, at: row))
        }
    }

    /// A UUID entry as its natural 128-bit number (DuckDB stores it with the top bit flipped).
    public func uuid(at row: Int) -> UInt128 {
        let stored = load(duckdb_hugeint.self, at: row)
        return UInt128(UInt64(bitPattern: stored.upper) ^ (1 << 63)) << 64 | UInt128(stored.lower)
    }

    /// A TIME WITH TIME ZONE entry: microseconds since midnight and the offset in seconds.
    public func timeTZ(at row: Int) -> (micros: Int64, offsetSeconds: Int32) {
        let parts = duckdb_from_time_tz(duckdb_time_tz(bits: load(UInt64.self, at: row)))
        let micros = ((Int64(parts.time.hour) * 60 + Int64(parts.time.min)) * 60 + Int64(parts.time.sec)) * 1_000_000
            + Int64(parts.time.micros)
        return (micros, parts.offset)
    }

    /// The length and child vector of a LIST entry, for encoders that stream nested values.
    public func listEntry(at row: Int) -> (offset: Int, length: Int) {
        let entry = load(duckdb_list_entry.self, at: row)
        return (Int(entry.offset), Int(entry.length))
    }
}

@available(*, unavailable)
extension ColumnVector: Sendable {}

extension DuckDBValue.BigNum {
    /// Reads DuckDB's BIGNUM storage: a 3-byte header (sign bit, byte count) and a big-endian
    /// magnitude, all bits inverted for negative numbers.
    init(storage: UnsafeRawBufferPointer) {
        guard storage.count > 3 else {
            self.init(isNegative: false, magnitude: [0])
            return
        }
        let isNegative = storage[0] & 0x80 == 0
        var magnitude = Array(storage[3...])
        if isNegative {
            for index in magnitude.indices { magnitude[index] = ~magnitude[index] }
        }
        self.init(isNegative: isNegative, magnitude: magnitude)
    }
}
