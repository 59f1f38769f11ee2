internal import CDuckDB

/// One field of an Arrow schema as DuckDB describes it through the C data interface, with what
/// the IPC format needs: its type as an IPC `Type` table and the layout of its buffers.
struct ArrowField {
    /// How an array of the field keeps its values, which decides its buffers' lengths.
    enum Layout {
        case null
        /// One bit per value (booleans).
        case bits
        /// `bytes` per value.
        case fixed(bytes: Int)
        /// Offsets of `offsetBytes` each, then the bytes they point into (strings, blobs).
        case variable(offsetBytes: Int)
        /// Offsets of `offsetBytes` each into the one child (lists, maps).
        case list(offsetBytes: Int)
        case fixedList
        case structure
        case union(dense: Bool)
    }

    /// The dictionary of a dictionary-encoded field (DuckDB's ENUM): its indices are the field's
    /// values, its values a field of their own.
    struct Dictionary {
        var id: Int64
        var indexBits: Int32
        var indexSigned: Bool
        var ordered: Bool
        var indexLayout: Layout
    }

    var name: String
    var nullable: Bool
    var typeCode: UInt8
    var typeTable: FlatTable
    var layout: Layout
    var children: [ArrowField]
    var dictionary: Dictionary?
    var metadata: [(key: String, value: String)]

    /// Reads `schema` (and its children); dictionary ids are numbered from `nextDictionary` on.
    init(_ schema: UnsafePointer<ArrowSchema>, nextDictionary: inout Int64) throws {
        let value = schema.pointee
        name = value.name.map { String(cString: $0) } ?? ""
        nullable = value.flags & Int64(ARROW_FLAG_NULLABLE) != 0
        metadata = Self.metadata(value.metadata)
        var children: [ArrowField] = []
        for index in 0..<Int(value.n_children) {
            guard let child = value.children?[index] else {
                throw DuckDBError(code: .unsupportedType, message: "Arrow schema of \(name) lacks child \(index)")
            }
            children.append(try ArrowField(child, nextDictionary: &nextDictionary))
        }
        self.children = children
        guard let format = value.format.map({ String(cString: $0) }) else {
            throw DuckDBError(code: .unsupportedType, message: "Arrow schema of \(name) has no format")
        }
        if let dictionary = value.dictionary {
            // The field's type is the dictionary's value type; its own format names the indices.
            let index = try Self.type(format, flags: value.flags)
            guard case .int32(let bits)? = index.table[0], case .bool(let signed)? = index.table[1] else {
                throw DuckDBError(code: .unsupportedType, message: "Arrow dictionary index \(format) of \(name) is not an integer")
            }
            let values = try ArrowField(dictionary, nextDictionary: &nextDictionary)
            self.dictionary = Dictionary(
                id: nextDictionary, indexBits: bits, indexSigned: signed,
                ordered: value.flags & Int64(ARROW_FLAG_DICTIONARY_ORDERED) != 0, indexLayout: index.layout)
            nextDictionary += 1
            (typeCode, typeTable, layout) = (values.typeCode, values.typeTable, values.layout)
            self.children = values.children
        } else {
            (typeCode, typeTable, layout) = try Self.type(format, flags: value.flags)
        }
    }

    /// The field as the IPC `Field` table.
    var table: FlatTable {
        var table = FlatTable([
            0: .string(name), 1: .bool(nullable), 2: .uint8(typeCode), 3: .table(typeTable),
            5: .tables(children.map(\.table)),
        ])
        if let dictionary {
            table[4] = .table(FlatTable([
                0: .int64(dictionary.id),
                1: .table(FlatTable([0: .int32(dictionary.indexBits), 1: .bool(dictionary.indexSigned)])),
                2: .bool(dictionary.ordered),
            ]))
        }
        if !metadata.isEmpty {
            table[6] = .tables(metadata.map { FlatTable([0: .string($0.key), 1: .string($0.value)]) })
        }
        return table
    }

    /// The field of a dictionary's values: this field without its dictionary.
    var dictionaryValues: ArrowField {
        var values = self
        values.dictionary = nil
        values.metadata = []
        return values
    }

    /// The IPC type code, `Type` table and layout of a C data interface format string.
    private static func type(_ format: String, flags: Int64) throws -> (code: UInt8, table: FlatTable, layout: Layout) {
        func integer(_ bits: Int32, _ signed: Bool) -> (UInt8, FlatTable, Layout) {
            (2, FlatTable([0: .int32(bits), 1: .bool(signed)]), .fixed(bytes: Int(bits) / 8))
        }
        let timeUnits: [Character: Int16] = ["s": 0, "m": 1, "u": 2, "n": 3]
        let characters = Array(format)
        switch format {
        case "n": return (1, FlatTable(), .null)
        case "b": return (6, FlatTable(), .bits)
        case "c": return integer(8, true)
        case "C": return integer(8, false)
        case "s": return integer(16, true)
        case "S": return integer(16, false)
        case "i": return integer(32, true)
        case "I": return integer(32, false)
        case "l": return integer(64, true)
        case "L": return integer(64, false)
        case "e": return (3, FlatTable([0: .int16(0)]), .fixed(bytes: 2))
        case "f": return (3, FlatTable([0: .int16(1)]), .fixed(bytes: 4))
        case "g": return (3, FlatTable([0: .int16(2)]), .fixed(bytes: 8))
        case "z": return (4, FlatTable(), .variable(offsetBytes: 4))
        case "Z": return (19, FlatTable(), .variable(offsetBytes: 8))
        case "u": return (5, FlatTable(), .variable(offsetBytes: 4))
        case "U": return (20, FlatTable(), .variable(offsetBytes: 8))
        case "tdD": return (8, FlatTable([0: .int16(0)]), .fixed(bytes: 4))
        case "tdm": return (8, FlatTable([0: .int16(1)]), .fixed(bytes: 8))
        case "tts": return (9, FlatTable([0: .int16(0), 1: .int32(32)]), .fixed(bytes: 4))
        case "ttm": return (9, FlatTable([0: .int16(1), 1: .int32(32)]), .fixed(bytes: 4))
        case "ttu": return (9, FlatTable([0: .int16(2), 1: .int32(64)]), .fixed(bytes: 8))
        case "ttn": return (9, FlatTable([0: .int16(3), 1: .int32(64)]), .fixed(bytes: 8))
        case "tiM": return (11, FlatTable([0: .int16(0)]), .fixed(bytes: 4))
        case "tiD": return (11, FlatTable([0: .int16(1)]), .fixed(bytes: 8))
        case "tin": return (11, FlatTable([0: .int16(2)]), .fixed(bytes: 16))
        case "+l": return (12, FlatTable(), .list(offsetBytes: 4))
        case "+L": return (21, FlatTable(), .list(offsetBytes: 8))
        case "+s": return (13, FlatTable(), .structure)
        case "+m": return (17, FlatTable([0: .bool(flags & Int64(ARROW_FLAG_MAP_KEYS_SORTED) != 0)]), .list(offsetBytes: 4))
        default: break
        }
        if characters.count >= 4, format.hasPrefix("ts"), characters[3] == ":", let unit = timeUnits[characters[2]] {
            let zone = String(format.dropFirst(4))
            var table = FlatTable([0: .int16(unit)])
            if !zone.isEmpty { table[1] = .string(zone) }
            return (10, table, .fixed(bytes: 8))
        }
        if characters.count == 3, format.hasPrefix("tD"), let unit = timeUnits[characters[2]] {
            return (18, FlatTable([0: .int16(unit)]), .fixed(bytes: 8))
        }
        if format.hasPrefix("d:") {
            let parts = format.dropFirst(2).split(separator: ",").compactMap { Int32($0) }
            guard parts.count == 2 || parts.count == 3 else { throw unsupported(format) }
            let bits = parts.count == 3 ? parts[2] : 128
            return (7, FlatTable([0: .int32(parts[0]), 1: .int32(parts[1]), 2: .int32(bits)]), .fixed(bytes: Int(bits) / 8))
        }
        if format.hasPrefix("w:"), let width = Int32(format.dropFirst(2)) {
            return (15, FlatTable([0: .int32(width)]), .fixed(bytes: Int(width)))
        }
        if format.hasPrefix("+w:"), let size = Int32(format.dropFirst(3)) {
            return (16, FlatTable([0: .int32(size)]), .fixedList)
        }
        if format.hasPrefix("+ud:") || format.hasPrefix("+us:") {
            let dense = format.hasPrefix("+ud:")
            let ids = format.dropFirst(4).split(separator: ",").compactMap { Int32($0) }
            return (14, FlatTable([0: .int16(dense ? 1 : 0), 1: .int32s(ids)]), .union(dense: dense))
        }
        throw unsupported(format)
    }

    private static func unsupported(_ format: String) -> DuckDBError {
        DuckDBError(code: .unsupportedType, message: "Arrow type '\(format)' cannot be written as an Arrow IPC stream")
    }

    /// The key-value pairs of a C data interface metadata buffer (extension type names, say).
    private static func metadata(_ pointer: UnsafePointer<CChar>?) -> [(key: String, value: String)] {
        guard let pointer else { return [] }
        let raw = UnsafeRawPointer(pointer)
        var position = 0
        func int32() -> Int {
            defer { position += 4 }
            return Int(raw.loadUnaligned(fromByteOffset: position, as: Int32.self))
        }
        func text() -> String {
            let length = int32()
            defer { position += length }
            return String(decoding: UnsafeRawBufferPointer(start: raw + position, count: length), as: UTF8.self)
        }
        var pairs: [(key: String, value: String)] = []
        for _ in 0..<max(0, int32()) {
            let key = text()
            pairs.append((key, text()))
        }
        return pairs
    }
}
