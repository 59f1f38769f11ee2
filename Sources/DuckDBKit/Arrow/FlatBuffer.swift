/// A FlatBuffers table to serialize: its fields by slot (the field's position in the schema, a
/// union taking two slots: its type, then its value). Only what Arrow's IPC metadata needs.
struct FlatTable {
    enum Value {
        case bool(Bool)
        case uint8(UInt8)
        case int16(Int16)
        case int32(Int32)
        case int64(Int64)
        case string(String)
        case table(FlatTable)
        case tables([FlatTable])
        case int32s([Int32])
        case int64s([Int64])
        /// A vector of structs made of 64-bit integers (Arrow's `FieldNode` and `Buffer`).
        case int64Structs([[Int64]])
    }

    private(set) var fields: [(slot: Int, value: Value)] = []

    init(_ fields: [Int: Value] = [:]) {
        for (slot, value) in fields.sorted(by: { $0.key < $1.key }) { self.fields.append((slot, value)) }
    }

    subscript(slot: Int) -> Value? {
        get { fields.first { $0.slot == slot }?.value }
        set {
            fields.removeAll { $0.slot == slot }
            if let newValue { fields.append((slot, newValue)) }
            fields.sort { $0.slot < $1.slot }
        }
    }

    /// The serialized buffer whose root is this table; its size is a multiple of 8.
    func serialized() -> [UInt8] {
        var writer = FlatBufferWriter()
        writer.bytes = [0, 0, 0, 0]
        let root = writer.write(self)
        writer.patch(at: 0, to: root)
        writer.pad(to: 8)
        return writer.bytes
    }
}

/// Writes FlatBuffers front to back: each table's vtable just before it and everything it refers
/// to after it, so every offset (unsigned, pointing forward) is known once the child is written.
private struct FlatBufferWriter {
    var bytes: [UInt8] = []

    mutating func pad(to alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func store<T: FixedWidthInteger>(_ value: T, at position: Int) {
        withUnsafeBytes(of: value.littleEndian) { raw in
            for (index, byte) in raw.enumerated() { bytes[position + index] = byte }
        }
    }

    /// Makes the offset slot at `slot` point at `target`.
    mutating func patch(at slot: Int, to target: Int) {
        store(UInt32(target - slot), at: slot)
    }

    /// Writes `table` and what it refers to; returns the table's position.
    mutating func write(_ table: FlatTable) -> Int {
        // The inline part: the vtable offset, then each field aligned to its size.
        var layout: [(slot: Int, offset: Int, size: Int)] = []
        var size = 4
        for (slot, value) in table.fields {
            let width = value.inlineSize
            size = (size + width - 1) / width * width
            layout.append((slot, size, width))
            size += width
        }
        let slots = (table.fields.map(\.slot).max() ?? -1) + 1
        pad(to: 2)
        let vtable = bytes.count
        append(UInt16(4 + 2 * slots))
        append(UInt16(size))
        for slot in 0..<slots {
            append(UInt16(layout.first { $0.slot == slot }?.offset ?? 0))
        }
        pad(to: 8)
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: size))
        store(Int32(start - vtable), at: start)
        var references: [(position: Int, value: FlatTable.Value)] = []
        for ((_, value), place) in zip(table.fields, layout) {
            let position = start + place.offset
            switch value {
            case .bool(let flag): bytes[position] = flag ? 1 : 0
            case .uint8(let number): bytes[position] = number
            case .int16(let number): store(number, at: position)
            case .int32(let number): store(number, at: position)
            case .int64(let number): store(number, at: position)
            default: references.append((position, value))
            }
        }
        for (position, value) in references {
            patch(at: position, to: writeReferenced(value))
        }
        return start
    }

    private mutating func writeReferenced(_ value: FlatTable.Value) -> Int {
        switch value {
        case .string(let text):
            pad(to: 4)
            let start = bytes.count
            let utf8 = Array(text.utf8)
            append(UInt32(utf8.count))
            bytes.append(contentsOf: utf8)
            bytes.append(0)
            return start
        case .table(let table):
            return write(table)
        case .tables(let tables):
            pad(to: 4)
            let start = bytes.count
            append(UInt32(tables.count))
            let slots = bytes.count
            bytes.append(contentsOf: repeatElement(0, count: 4 * tables.count))
            for (index, table) in tables.enumerated() {
                patch(at: slots + 4 * index, to: write(table))
            }
            return start
        case .int32s(let numbers):
            pad(to: 4)
            let start = bytes.count
            append(UInt32(numbers.count))
            for number in numbers { append(number) }
            return start
        case .int64s(let numbers):
            return writeInt64s(count: numbers.count, numbers)
        case .int64Structs(let structs):
            return writeInt64s(count: structs.count, structs.flatMap { $0 })
        case .bool, .uint8, .int16, .int32, .int64:
            preconditionFailure("scalars are stored inline")
        }
    }

    /// A vector whose elements are 8-byte aligned: its 4-byte length sits just before them.
    private mutating func writeInt64s(count: Int, _ numbers: [Int64]) -> Int {
        pad(to: 4)
        if bytes.count % 8 == 0 { append(UInt32(0)) }
        let start = bytes.count
        append(UInt32(count))
        for number in numbers { append(number) }
        return start
    }
}

extension FlatTable.Value {
    /// Bytes the value takes inside its table (an offset for anything referenced).
    var inlineSize: Int {
        switch self {
        case .bool, .uint8: 1
        case .int16: 2
        case .int64: 8
        default: 4
        }
    }
}
