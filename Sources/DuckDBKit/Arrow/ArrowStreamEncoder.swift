internal import CDuckDB
#if canImport(Glibc)
import Glibc
#endif

/// Writes a result as an Arrow IPC stream (the "streaming format" of
/// https://arrow.apache.org/docs/format/Columnar.html#ipc-streaming-format): a schema message,
/// then one record batch per DuckDB chunk, then the end-of-stream marker.
///
/// DuckDB converts each chunk to the Arrow C data interface (`duckdb_data_chunk_to_arrow`) with
/// the result's own Arrow settings; this type only frames those buffers. A dictionary-encoded
/// column (an ENUM) sends its dictionary before the first batch, and again only when it changes.
public final class ArrowStreamEncoder {
    private var options: duckdb_arrow_options?
    private let fields: [ArrowField]
    /// The body of the dictionary last sent, by dictionary id.
    private var sentDictionaries: [Int64: [UInt8]] = [:]

    /// The stream's end: a continuation marker and a zero length.
    public static let endOfStream: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]

    /// Throws if DuckDB cannot describe a column in Arrow.
    init(columns: [Column], options: duckdb_arrow_options?) throws {
        self.options = options
        var types: [duckdb_logical_type?] = []
        defer { for index in types.indices { duckdb_destroy_logical_type(&types[index]) } }
        for column in columns { types.append(try column.type.makeHandle()) }
        let names = columns.map { strdup($0.name) }
        defer { for name in names { free(name) } }
        var namePointers: [UnsafePointer<CChar>?] = names.map { UnsafePointer($0) }
        var schema = ArrowSchema()
        try Self.check(duckdb_to_arrow_schema(options, &types, &namePointers, idx_t(columns.count), &schema))
        defer { schema.release?(&schema) }
        var next: Int64 = 0
        var fields: [ArrowField] = []
        for index in 0..<Int(schema.n_children) {
            guard let child = schema.children?[index] else {
                throw DuckDBError(code: .unsupportedType, message: "DuckDB's Arrow schema lacks column \(index)")
            }
            fields.append(try ArrowField(child, nextDictionary: &next))
        }
        self.fields = fields
    }

    deinit {
        duckdb_destroy_arrow_options(&options)
    }

    /// The schema message, which starts the stream.
    public func schema(into out: inout [UInt8]) {
        let schema = FlatTable([0: .int16(0), 1: .tables(fields.map(\.table))])
        Self.message(header: 1, schema, body: [], into: &out)
    }

    /// The record batch of `chunk`, after any dictionary it needs.
    public func encode(_ chunk: DataChunk, into out: inout [UInt8]) throws {
        var array = ArrowArray()
        try Self.check(duckdb_data_chunk_to_arrow(options, chunk.handle, &array))
        defer { array.release?(&array) }
        guard Int(array.n_children) == fields.count else {
            throw DuckDBError(code: .unsupportedType, message: "DuckDB's Arrow chunk has \(array.n_children) columns, the schema \(fields.count)")
        }
        var batch = RecordBatch()
        for (index, field) in fields.enumerated() {
            guard let child = array.children?[index] else {
                throw DuckDBError(code: .unsupportedType, message: "DuckDB's Arrow chunk lacks column \(index)")
            }
            try batch.add(UnsafePointer(child), field)
        }
        for (id, values, field) in batch.dictionaries {
            var dictionary = RecordBatch()
            try dictionary.add(values, field)
            let body = dictionary.body()
            guard sentDictionaries[id] != body else { continue }
            sentDictionaries[id] = body
            let header = FlatTable([0: .int64(id), 1: .table(dictionary.table(length: Int64(values.pointee.length), bodyLength: body.count)), 2: .bool(false)])
            Self.message(header: 2, header, body: body, into: &out)
        }
        let body = batch.body()
        Self.message(header: 3, batch.table(length: array.length, bodyLength: body.count), body: body, into: &out)
    }

    /// An encapsulated message: continuation marker, metadata length, the `Message` flatbuffer
    /// (padded to 8 bytes), then the body.
    private static func message(header type: UInt8, _ header: FlatTable, body: [UInt8], into out: inout [UInt8]) {
        let metadata = FlatTable([0: .int16(4), 1: .uint8(type), 2: .table(header), 3: .int64(Int64(body.count))]).serialized()
        out.append(contentsOf: [0xFF, 0xFF, 0xFF, 0xFF])
        withUnsafeBytes(of: Int32(metadata.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: metadata)
        out.append(contentsOf: body)
    }

    private static func check(_ error: duckdb_error_data?) throws {
        var error = error
        defer { duckdb_destroy_error_data(&error) }
        guard let data = error, duckdb_error_data_has_error(data) else { return }
        let message = duckdb_error_data_message(data).map { String(cString: $0) } ?? "Arrow conversion failed"
        throw DuckDBError(code: .unsupportedType, message: message)
    }
}

/// The nodes and buffers of one record batch, in the IPC order: depth first, each array's
/// buffers in its layout's order.
private struct RecordBatch {
    var nodes: [[Int64]] = []
    var buffers: [(pointer: UnsafeRawPointer?, length: Int)] = []
    /// Dictionaries met on the way: id, the values array and their field.
    var dictionaries: [(Int64, UnsafePointer<ArrowArray>, ArrowField)] = []

    mutating func add(_ pointer: UnsafePointer<ArrowArray>, _ field: ArrowField) throws {
        let array = pointer.pointee
        guard array.offset == 0 else {
            throw DuckDBError(code: .unsupportedType, message: "Arrow array of \(field.name) starts at offset \(array.offset)")
        }
        let length = Int(array.length)
        func buffer(_ index: Int) throws -> UnsafeRawPointer? {
            guard index < Int(array.n_buffers) else {
                throw DuckDBError(code: .unsupportedType, message: "Arrow array of \(field.name) lacks buffer \(index)")
            }
            return array.buffers?[index]
        }
        func child(_ index: Int) throws -> UnsafePointer<ArrowArray> {
            guard index < Int(array.n_children), let child = array.children?[index] else {
                throw DuckDBError(code: .unsupportedType, message: "Arrow array of \(field.name) lacks child \(index)")
            }
            return UnsafePointer(child)
        }
        var layout = field.layout
        if let dictionary = field.dictionary {
            guard let values = array.dictionary else {
                throw DuckDBError(code: .unsupportedType, message: "Arrow array of \(field.name) lacks its dictionary")
            }
            dictionaries.append((dictionary.id, UnsafePointer(values), field.dictionaryValues))
            layout = dictionary.indexLayout
        }
        // Validity: absent when nothing is null (an empty buffer in IPC).
        func validity() throws {
            let bitmap = try buffer(0)
            buffers.append((bitmap, bitmap == nil ? 0 : (length + 7) / 8))
        }
        var nulls = Int(array.null_count)
        if case .union = layout { nulls = 0 }
        if case .null = layout { nulls = length }
        if nulls < 0 {
            nulls = 0
            if let bitmap = try buffer(0)?.assumingMemoryBound(to: UInt8.self) {
                for index in 0..<length where bitmap[index / 8] & (1 << (index % 8)) == 0 { nulls += 1 }
            }
        }
        nodes.append([Int64(length), Int64(nulls)])
        switch layout {
        case .null:
            break
        case .bits:
            try validity()
            buffers.append((try buffer(1), (length + 7) / 8))
        case .fixed(let bytes):
            try validity()
            buffers.append((try buffer(1), length * bytes))
        case .variable(let width):
            try validity()
            let offsets = try buffer(1)
            buffers.append((offsets, length == 0 && offsets == nil ? 0 : (length + 1) * width))
            let end = Self.offset(offsets, at: length, width: width)
            buffers.append((try buffer(2), end))
        case .list(let width):
            try validity()
            let offsets = try buffer(1)
            buffers.append((offsets, length == 0 && offsets == nil ? 0 : (length + 1) * width))
            try add(child(0), field.children[0])
        case .fixedList:
            try validity()
            try add(child(0), field.children[0])
        case .structure:
            try validity()
            for (index, childField) in field.children.enumerated() { try add(child(index), childField) }
        case .union(let dense):
            buffers.append((try buffer(0), length))
            if dense { buffers.append((try buffer(1), length * 4)) }
            for (index, childField) in field.children.enumerated() { try add(child(index), childField) }
        }
    }

    private static func offset(_ offsets: UnsafeRawPointer?, at index: Int, width: Int) -> Int {
        guard let offsets else { return 0 }
        return width == 8
            ? Int(offsets.loadUnaligned(fromByteOffset: index * 8, as: Int64.self))
            : Int(offsets.loadUnaligned(fromByteOffset: index * 4, as: Int32.self))
    }

    /// The buffers one after another, each padded to 8 bytes.
    func body() -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(buffers.reduce(0) { $0 + ($1.length + 7) / 8 * 8 })
        for (pointer, length) in buffers {
            if let pointer, length > 0 {
                body.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: length))
            }
            while body.count % 8 != 0 { body.append(0) }
        }
        return body
    }

    /// The `RecordBatch` table, buffer offsets counted from the body's start.
    func table(length: Int64, bodyLength: Int) -> FlatTable {
        var offset = 0
        var places: [[Int64]] = []
        for (pointer, length) in buffers {
            let stored = pointer == nil ? 0 : length
            places.append([Int64(offset), Int64(stored)])
            offset += (stored + 7) / 8 * 8
        }
        return FlatTable([0: .int64(length), 1: .int64Structs(nodes), 2: .int64Structs(places)])
    }
}
