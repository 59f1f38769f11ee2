internal import CDuckDB

/// A DuckDB type, read once from DuckDB's logical type and kept as a Swift value.
public indirect enum LogicalType: Sendable, Hashable {
    case boolean
    case tinyint, smallint, integer, bigint, hugeint
    case utinyint, usmallint, uinteger, ubigint, uhugeint
    case float, double
    case decimal(width: Int, scale: Int)
    case varchar, blob, bit, bignum, uuid
    case date, time, timeNS, timeTZ
    case timestamp, timestampS, timestampMS, timestampNS, timestampTZ
    case interval
    case enumeration([String])
    case list(LogicalType)
    case array(LogicalType, size: Int)
    case structure([Field])
    case map(key: LogicalType, value: LogicalType)
    case union([Field])
    /// Stored as little-endian WKB; `crs` is the coordinate reference system, if the type names one.
    case geometry(crs: String?)
    /// DuckDB's self-describing VARIANT. Its physical layout is internal to DuckDB.
    case variant
    case sqlNull
    /// A type this library does not know (a future DuckDB type id).
    case unknown(typeID: Int)

    /// A named member of a STRUCT or UNION.
    public struct Field: Sendable, Hashable {
        public let name: String
        public let type: LogicalType

        public init(name: String, type: LogicalType) {
            self.name = name
            self.type = type
        }
    }

    /// True for LIST, ARRAY, STRUCT, MAP, UNION and VARIANT (DuckDB's `IsNested`).
    public var isNested: Bool {
        switch self {
        case .list, .array, .structure, .map, .union, .variant: true
        default: false
        }
    }

    /// The integer type DuckDB stores a DECIMAL of this width in.
    static func decimalStorageBytes(width: Int) -> Int {
        switch width {
        case ...4: 2
        case ...9: 4
        case ...18: 8
        default: 16
        }
    }

    /// The unsigned integer type DuckDB stores an ENUM of this many values in.
    static func enumStorageBytes(count: Int) -> Int {
        switch count {
        case ...Int(UInt8.max): 1
        case ...Int(UInt16.max): 2
        default: 4
        }
    }
}

// MARK: - From and to DuckDB's C logical types

extension LogicalType {
    /// Reads a DuckDB logical type (the handle stays owned by the caller).
    init(handle: duckdb_logical_type) {
        let id = duckdb_get_type_id(handle)
        switch id {
        case DUCKDB_TYPE_BOOLEAN: self = .boolean
        case DUCKDB_TYPE_TINYINT: self = .tinyint
        case DUCKDB_TYPE_SMALLINT: self = .smallint
        case DUCKDB_TYPE_INTEGER: self = .integer
        case DUCKDB_TYPE_BIGINT: self = .bigint
        case DUCKDB_TYPE_HUGEINT: self = .hugeint
        case DUCKDB_TYPE_UTINYINT: self = .utinyint
        case DUCKDB_TYPE_USMALLINT: self = .usmallint
        case DUCKDB_TYPE_UINTEGER: self = .uinteger
        case DUCKDB_TYPE_UBIGINT: self = .ubigint
        case DUCKDB_TYPE_UHUGEINT: self = .uhugeint
        case DUCKDB_TYPE_FLOAT: self = .float
        case DUCKDB_TYPE_DOUBLE: self = .double
        case DUCKDB_TYPE_DECIMAL:
            self = .decimal(width: Int(duckdb_decimal_width(handle)), scale: Int(duckdb_decimal_scale(handle)))
        case DUCKDB_TYPE_VARCHAR: self = .varchar
        case DUCKDB_TYPE_BLOB: self = .blob
        case DUCKDB_TYPE_BIT: self = .bit
        case DUCKDB_TYPE_BIGNUM: self = .bignum
        case DUCKDB_TYPE_UUID: self = .uuid
        case DUCKDB_TYPE_DATE: self = .date
        case DUCKDB_TYPE_TIME: self = .time
        case DUCKDB_TYPE_TIME_NS: self = .timeNS
        case DUCKDB_TYPE_TIME_TZ: self = .timeTZ
        case DUCKDB_TYPE_TIMESTAMP: self = .timestamp
        case DUCKDB_TYPE_TIMESTAMP_S: self = .timestampS
        case DUCKDB_TYPE_TIMESTAMP_MS: self = .timestampMS
        case DUCKDB_TYPE_TIMESTAMP_NS: self = .timestampNS
        case DUCKDB_TYPE_TIMESTAMP_TZ: self = .timestampTZ
        case DUCKDB_TYPE_INTERVAL: self = .interval
        case DUCKDB_TYPE_ENUM:
            let size = Int(duckdb_enum_dictionary_size(handle))
            self = .enumeration((0..<size).map { index in
                takeString(duckdb_enum_dictionary_value(handle, idx_t(index)))
            })
        case DUCKDB_TYPE_LIST:
            self = .list(withChild(duckdb_list_type_child_type(handle)))
        case DUCKDB_TYPE_ARRAY:
            self = .array(withChild(duckdb_array_type_child_type(handle)), size: Int(duckdb_array_type_array_size(handle)))
        case DUCKDB_TYPE_MAP:
            self = .map(key: withChild(duckdb_map_type_key_type(handle)), value: withChild(duckdb_map_type_value_type(handle)))
        case DUCKDB_TYPE_STRUCT:
            self = .structure((0..<Int(duckdb_struct_type_child_count(handle))).map { index in
                Field(
                    name: takeString(duckdb_struct_type_child_name(handle, idx_t(index))),
                    type: withChild(duckdb_struct_type_child_type(handle, idx_t(index))))
            })
        case DUCKDB_TYPE_UNION:
            self = .union((0..<Int(duckdb_union_type_member_count(handle))).map { index in
                Field(
                    name: takeString(duckdb_union_type_member_name(handle, idx_t(index))),
                    type: withChild(duckdb_union_type_member_type(handle, idx_t(index))))
            })
        case DUCKDB_TYPE_GEOMETRY:
            let crs = duckdb_geometry_type_get_crs(handle)
            self = .geometry(crs: crs.map { takeString($0) })
        case DUCKDB_TYPE_VARIANT: self = .variant
        case DUCKDB_TYPE_SQLNULL: self = .sqlNull
        default: self = .unknown(typeID: Int(id.rawValue))
        }
    }

    /// Creates a DuckDB logical type; the caller owns it and must destroy it.
    func makeHandle() throws -> duckdb_logical_type {
        func simple(_ id: duckdb_type) throws -> duckdb_logical_type {
            guard let handle = duckdb_create_logical_type(id) else {
                throw DuckDBError(code: .unsupportedType, message: "DuckDB could not create type \(sqlName)")
            }
            return handle
        }
        func children(_ types: [LogicalType]) throws -> [duckdb_logical_type?] {
            var handles: [duckdb_logical_type?] = []
            do {
                for type in types { handles.append(try type.makeHandle()) }
            } catch {
                for index in handles.indices { duckdb_destroy_logical_type(&handles[index]) }
                throw error
            }
            return handles
        }
        func destroy(_ handles: inout [duckdb_logical_type?]) {
            for index in handles.indices { duckdb_destroy_logical_type(&handles[index]) }
        }
        let made: duckdb_logical_type?
        switch self {
        case .boolean: return try simple(DUCKDB_TYPE_BOOLEAN)
        case .tinyint: return try simple(DUCKDB_TYPE_TINYINT)
        case .smallint: return try simple(DUCKDB_TYPE_SMALLINT)
        case .integer: return try simple(DUCKDB_TYPE_INTEGER)
        case .bigint: return try simple(DUCKDB_TYPE_BIGINT)
        case .hugeint: return try simple(DUCKDB_TYPE_HUGEINT)
        case .utinyint: return try simple(DUCKDB_TYPE_UTINYINT)
        case .usmallint: return try simple(DUCKDB_TYPE_USMALLINT)
        case .uinteger: return try simple(DUCKDB_TYPE_UINTEGER)
        case .ubigint: return try simple(DUCKDB_TYPE_UBIGINT)
        case .uhugeint: return try simple(DUCKDB_TYPE_UHUGEINT)
        case .float: return try simple(DUCKDB_TYPE_FLOAT)
        case .double: return try simple(DUCKDB_TYPE_DOUBLE)
        case .varchar: return try simple(DUCKDB_TYPE_VARCHAR)
        case .blob: return try simple(DUCKDB_TYPE_BLOB)
        case .bit: return try simple(DUCKDB_TYPE_BIT)
        case .bignum: return try simple(DUCKDB_TYPE_BIGNUM)
        case .uuid: return try simple(DUCKDB_TYPE_UUID)
        case .date: return try simple(DUCKDB_TYPE_DATE)
        case .time: return try simple(DUCKDB_TYPE_TIME)
        case .timeNS: return try simple(DUCKDB_TYPE_TIME_NS)
        case .timeTZ: return try simple(DUCKDB_TYPE_TIME_TZ)
        case .timestamp: return try simple(DUCKDB_TYPE_TIMESTAMP)
        case .timestampS: return try simple(DUCKDB_TYPE_TIMESTAMP_S)
        case .timestampMS: return try simple(DUCKDB_TYPE_TIMESTAMP_MS)
        case .timestampNS: return try simple(DUCKDB_TYPE_TIMESTAMP_NS)
        case .timestampTZ: return try simple(DUCKDB_TYPE_TIMESTAMP_TZ)
        case .interval: return try simple(DUCKDB_TYPE_INTERVAL)
        case .geometry: return try simple(DUCKDB_TYPE_GEOMETRY)
        case .variant: return try simple(DUCKDB_TYPE_VARIANT)
        case .sqlNull: return try simple(DUCKDB_TYPE_SQLNULL)
        case .unknown(let id):
            throw DuckDBError(code: .unsupportedType, message: "unknown DuckDB type id \(id)")
        case .decimal(let width, let scale):
            made = duckdb_create_decimal_type(UInt8(clamping: width), UInt8(clamping: scale))
        case .enumeration(let values):
            var cStrings = values.map { strdup($0) }
            defer { cStrings.forEach { free($0) } }
            made = cStrings.withUnsafeMutableBufferPointer { buffer in
                buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) {
                    duckdb_create_enum_type($0, idx_t(values.count))
                }
            }
        case .list(let element):
            var child: duckdb_logical_type? = try element.makeHandle()
            defer { duckdb_destroy_logical_type(&child) }
            made = duckdb_create_list_type(child)
        case .array(let element, let size):
            var child: duckdb_logical_type? = try element.makeHandle()
            defer { duckdb_destroy_logical_type(&child) }
            made = duckdb_create_array_type(child, idx_t(size))
        case .map(let key, let value):
            var keyHandle: duckdb_logical_type? = try key.makeHandle()
            defer { duckdb_destroy_logical_type(&keyHandle) }
            var valueHandle: duckdb_logical_type? = try value.makeHandle()
            defer { duckdb_destroy_logical_type(&valueHandle) }
            made = duckdb_create_map_type(keyHandle, valueHandle)
        case .structure(let fields), .union(let fields):
            var types = try children(fields.map(\.type))
            defer { destroy(&types) }
            var names = fields.map { strdup($0.name) }
            defer { names.forEach { free($0) } }
            let isUnion = if case .union = self { true } else { false }
            made = names.withUnsafeMutableBufferPointer { nameBuffer in
                nameBuffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: nameBuffer.count) { namePointer in
                    types.withUnsafeMutableBufferPointer { typeBuffer in
                        isUnion
                            ? duckdb_create_union_type(typeBuffer.baseAddress, namePointer, idx_t(fields.count))
                            : duckdb_create_struct_type(typeBuffer.baseAddress, namePointer, idx_t(fields.count))
                    }
                }
            }
        }
        guard let made else {
            throw DuckDBError(code: .unsupportedType, message: "DuckDB could not create type \(sqlName)")
        }
        return made
    }
}

/// Reads a child type handle, destroying it afterwards.
private func withChild(_ handle: duckdb_logical_type?) -> LogicalType {
    var handle = handle
    defer { duckdb_destroy_logical_type(&handle) }
    return handle.map(LogicalType.init(handle:)) ?? .sqlNull
}

/// Copies a string DuckDB allocated and frees DuckDB's copy.
func takeString(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
    guard let pointer else { return "" }
    defer { duckdb_free(pointer) }
    return String(cString: pointer)
}

func takeString(_ pointer: UnsafePointer<CChar>?) -> String {
    takeString(pointer.map { UnsafeMutablePointer(mutating: $0) })
}

#if canImport(Glibc)
import Glibc
#endif
