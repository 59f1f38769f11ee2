internal import CDuckDB

extension DuckDBValue {
    /// The type a value has on its own, used to bind it; DuckDB casts to the parameter's type.
    /// Elements of nested values take the type of their first non-null element.
    var naturalType: LogicalType {
        switch self {
        case .null: .sqlNull
        case .boolean: .boolean
        case .tinyint: .tinyint
        case .smallint: .smallint
        case .integer: .integer
        case .bigint: .bigint
        case .hugeint: .hugeint
        case .utinyint: .utinyint
        case .usmallint: .usmallint
        case .uinteger: .uinteger
        case .ubigint: .ubigint
        case .uhugeint: .uhugeint
        case .float: .float
        case .double: .double
        case .decimal(let decimal): .decimal(width: decimal.width, scale: decimal.scale)
        case .varchar: .varchar
        case .blob: .blob
        case .bit: .bit
        case .bignum: .bignum
        case .uuid: .uuid
        case .date: .date
        case .time: .time
        case .timeNS: .timeNS
        case .timeTZ: .timeTZ
        case .timestamp: .timestamp
        case .timestampS: .timestampS
        case .timestampMS: .timestampMS
        case .timestampNS: .timestampNS
        case .timestampTZ: .timestampTZ
        case .interval: .interval
        case .enumeration: .varchar
        case .list(let values): .list(values.first { !$0.isNull }?.naturalType ?? .varchar)
        case .array(let values): .array(values.first { !$0.isNull }?.naturalType ?? .varchar, size: values.count)
        case .structure(let fields):
            // A NULL field has no type of its own; VARCHAR casts to whatever the target field is.
            .structure(fields.map { LogicalType.Field(name: $0.name, type: $0.value.isNull ? .varchar : $0.value.naturalType) })
        case .map(let entries):
            .map(key: entries.first?.key.naturalType ?? .varchar,
                 value: entries.first { !$0.value.isNull }?.value.naturalType ?? .varchar)
        case .union(let tag, let value): .union([LogicalType.Field(name: tag, type: value.naturalType)])
        case .geometry: .geometry(crs: nil)
        }
    }

    /// Creates a DuckDB value of the value's natural type. The caller owns it.
    func makeCValue() throws -> duckdb_value {
        try makeCValue(as: naturalType)
    }

    /// Creates a DuckDB value of `type` (used for nested values, whose children need their
    /// declared types). The caller owns the result.
    func makeCValue(as type: LogicalType) throws -> duckdb_value {
        let made: duckdb_value?
        switch self {
        case .null: made = duckdb_create_null_value()
        case .boolean(let value): made = duckdb_create_bool(value)
        case .tinyint(let value): made = duckdb_create_int8(value)
        case .smallint(let value): made = duckdb_create_int16(value)
        case .integer(let value): made = duckdb_create_int32(value)
        case .bigint(let value): made = duckdb_create_int64(value)
        case .hugeint(let value): made = duckdb_create_hugeint(duckdb_hugeint(value))
        case .utinyint(let value): made = duckdb_create_uint8(value)
        case .usmallint(let value): made = duckdb_create_uint16(value)
        case .uinteger(let value): made = duckdb_create_uint32(value)
        case .ubigint(let value): made = duckdb_create_uint64(value)
        case .uhugeint(let value): made = duckdb_create_uhugeint(duckdb_uhugeint(value))
        case .float(let value): made = duckdb_create_float(value)
        case .double(let value): made = duckdb_create_double(value)
        case .decimal(let decimal):
            made = duckdb_create_decimal(duckdb_decimal(
                width: UInt8(clamping: decimal.width), scale: UInt8(clamping: decimal.scale),
                value: duckdb_hugeint(decimal.value)))
        case .varchar(let string), .enumeration(let string):
            var string = string
            made = string.withUTF8 { buffer in
                buffer.withMemoryRebound(to: CChar.self) { duckdb_create_varchar_length($0.baseAddress, idx_t($0.count)) }
            }
        case .blob(let bytes):
            made = bytes.withUnsafeBufferPointer { duckdb_create_blob($0.baseAddress, idx_t($0.count)) }
        case .bit(let bitString):
            var storage = bitString.storageBytes
            made = storage.withUnsafeMutableBufferPointer { buffer in
                duckdb_create_bit(duckdb_bit(data: buffer.baseAddress, size: idx_t(buffer.count)))
            }
        case .bignum(let number):
            var magnitude = number.magnitude.isEmpty ? [0] : number.magnitude
            made = magnitude.withUnsafeMutableBufferPointer { buffer in
                duckdb_create_bignum(duckdb_bignum(data: buffer.baseAddress, size: idx_t(buffer.count), is_negative: number.isNegative))
            }
        case .uuid(let value): made = duckdb_create_uuid(duckdb_uhugeint(value))
        case .date(let days): made = duckdb_create_date(duckdb_date(days: days))
        case .time(let micros): made = duckdb_create_time(duckdb_time(micros: micros))
        case .timeNS(let nanos): made = duckdb_create_time_ns(duckdb_time_ns(nanos: nanos))
        case .timeTZ(let micros, let offset): made = duckdb_create_time_tz_value(duckdb_create_time_tz(micros, offset))
        case .timestamp(let micros): made = duckdb_create_timestamp(duckdb_timestamp(micros: micros))
        case .timestampS(let seconds): made = duckdb_create_timestamp_s(duckdb_timestamp_s(seconds: seconds))
        case .timestampMS(let millis): made = duckdb_create_timestamp_ms(duckdb_timestamp_ms(millis: millis))
        case .timestampNS(let nanos): made = duckdb_create_timestamp_ns(duckdb_timestamp_ns(nanos: nanos))
        case .timestampTZ(let micros): made = duckdb_create_timestamp_tz(duckdb_timestamp(micros: micros))
        case .interval(let interval):
            made = duckdb_create_interval(duckdb_interval(months: interval.months, days: interval.days, micros: interval.micros))
        case .geometry(let wkb):
            // DuckDB has no constructor for GEOMETRY values; WKT text casts to GEOMETRY losslessly.
            var text = (try? WKBText.render(wkb)) ?? ""
            guard !text.isEmpty else {
                throw DuckDBError(code: .invalidValue, message: "Invalid Input Error: the geometry is not valid WKB")
            }
            made = text.withUTF8 { buffer in
                buffer.withMemoryRebound(to: CChar.self) { duckdb_create_varchar_length($0.baseAddress, idx_t($0.count)) }
            }
        case .list(let values), .array(let values):
            let elementType: LogicalType
            switch type {
            case .list(let element), .array(let element, _): elementType = element
            default: elementType = values.first { !$0.isNull }?.naturalType ?? .varchar
            }
            made = try Self.withCValues(values.map { ($0, elementType) }) { children in
                var childType: duckdb_logical_type? = try elementType.makeHandle()
                defer { duckdb_destroy_logical_type(&childType) }
                if case .array = self {
                    return duckdb_create_array_value(childType, children, idx_t(values.count))
                }
                return duckdb_create_list_value(childType, children, idx_t(values.count))
            }
        case .structure(let fields):
            let fieldTypes: [LogicalType]
            if case .structure(let declared) = type, declared.count == fields.count {
                fieldTypes = declared.map(\.type)
            } else {
                fieldTypes = fields.map { $0.value.naturalType }
            }
            let structType = LogicalType.structure(zip(fields, fieldTypes).map { LogicalType.Field(name: $0.name, type: $1) })
            made = try Self.withCValues(zip(fields.map(\.value), fieldTypes).map { ($0, $1) }) { children in
                var handle: duckdb_logical_type? = try structType.makeHandle()
                defer { duckdb_destroy_logical_type(&handle) }
                return duckdb_create_struct_value(handle, children)
            }
        case .map(let entries):
            let mapType: LogicalType
            if case .map = type { mapType = type } else { mapType = naturalType }
            guard case .map(let keyType, let valueType) = mapType else { preconditionFailure("map type expected") }
            made = try Self.withCValues(entries.map { ($0.key, keyType) }) { keys in
                try Self.withCValues(entries.map { ($0.value, valueType) }) { values in
                    var handle: duckdb_logical_type? = try mapType.makeHandle()
                    defer { duckdb_destroy_logical_type(&handle) }
                    return duckdb_create_map_value(handle, keys, values, idx_t(entries.count))
                }
            }
        case .union(let tag, let value):
            let unionType: LogicalType
            if case .union = type { unionType = type } else { unionType = naturalType }
            guard case .union(let members) = unionType, let index = members.firstIndex(where: { $0.name == tag }) else {
                throw DuckDBError(code: .invalidValue, message: "Invalid Input Error: \(tag) is not a member of \(unionType.sqlName)")
            }
            var member: duckdb_value? = try value.makeCValue(as: members[index].type)
            defer { duckdb_destroy_value(&member) }
            var handle: duckdb_logical_type? = try unionType.makeHandle()
            defer { duckdb_destroy_logical_type(&handle) }
            made = duckdb_create_union_value(handle, idx_t(index), member)
        }
        guard let made else {
            throw DuckDBError(code: .invalidValue, message: "Invalid Input Error: DuckDB could not create a \(type.sqlName) value")
        }
        return made
    }

    /// Creates the child values, calls `body` with a C array of them, then destroys them.
    private static func withCValues(
        _ values: [(DuckDBValue, LogicalType)],
        _ body: (UnsafeMutablePointer<duckdb_value?>?) throws -> duckdb_value?
    ) throws -> duckdb_value? {
        var handles: [duckdb_value?] = []
        handles.reserveCapacity(values.count)
        defer { for index in handles.indices { duckdb_destroy_value(&handles[index]) } }
        for (value, type) in values {
            handles.append(try value.makeCValue(as: type))
        }
        return try handles.withUnsafeMutableBufferPointer { try body($0.baseAddress) }
    }
}

extension DuckDBValue.BitString {
    /// DuckDB's BIT layout: a byte with the number of padding bits, then the bits, padded at the
    /// front of the first data byte with ones.
    var storageBytes: [UInt8] {
        let padding = (8 - bits.count % 8) % 8
        var bytes: [UInt8] = [UInt8(padding)]
        var current: UInt8 = 0
        var filled = 0
        for _ in 0..<padding {
            current = current << 1 | 1
            filled += 1
        }
        for bit in bits {
            current = current << 1 | (bit ? 1 : 0)
            filled += 1
            if filled == 8 {
                bytes.append(current)
                current = 0
                filled = 0
            }
        }
        return bytes
    }

    /// Reads DuckDB's BIT layout.
    init(storage: UnsafeRawBufferPointer) {
        guard storage.count > 1 else {
            self.init(bits: [])
            return
        }
        let padding = Int(storage[0])
        var bits: [Bool] = []
        bits.reserveCapacity((storage.count - 1) * 8 - padding)
        for index in 1..<storage.count {
            let byte = storage[index]
            for shift in stride(from: 7, through: 0, by: -1) {
                bits.append(byte >> UInt8(shift) & 1 == 1)
            }
        }
        self.init(bits: Array(bits.dropFirst(padding)))
    }
}

extension duckdb_hugeint {
    init(_ value: Int128) {
        self.init(lower: UInt64(truncatingIfNeeded: value), upper: Int64(truncatingIfNeeded: value >> 64))
    }

    var int128: Int128 { Int128(upper) << 64 | Int128(lower) }
}

extension duckdb_uhugeint {
    init(_ value: UInt128) {
        self.init(lower: UInt64(truncatingIfNeeded: value), upper: UInt64(truncatingIfNeeded: value >> 64))
    }

    var uint128: UInt128 { UInt128(upper) << 64 | UInt128(lower) }
}
