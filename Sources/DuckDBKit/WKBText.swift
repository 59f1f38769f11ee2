/// Renders little-endian WKB (DuckDB's GEOMETRY storage) as WKT, in DuckDB's spelling
/// (`POINT (1 2)`, `MULTIPOINT (5 6, EMPTY)`, `POLYGON Z ((…))`).
enum WKBText {
    struct MalformedGeometry: Error {}

    static func render(_ wkb: [UInt8]) throws -> String {
        var reader = Reader(bytes: wkb)
        var text = ""
        try geometry(&reader, into: &text, depth: 0)
        return text
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func byte() throws -> UInt8 {
            guard offset < bytes.count else { throw MalformedGeometry() }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func uint32() throws -> UInt32 {
            guard offset + 4 <= bytes.count else { throw MalformedGeometry() }
            var value: UInt32 = 0
            for index in 0..<4 { value |= UInt32(bytes[offset + index]) << (8 * UInt32(index)) }
            offset += 4
            return value
        }

        mutating func double() throws -> Double {
            guard offset + 8 <= bytes.count else { throw MalformedGeometry() }
            var bits: UInt64 = 0
            for index in 0..<8 { bits |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
            offset += 8
            return Double(bitPattern: bits)
        }

        /// The byte order, type and dimensions of a (sub-)geometry header.
        mutating func header() throws -> (type: UInt32, dimensions: Int, flag: String) {
            guard try byte() == 1 else { throw MalformedGeometry() }
            let meta = try uint32() & 0xFFFF
            let flag = meta / 1000
            let hasZ = flag & 1 != 0
            let hasM = flag & 2 != 0
            return (meta % 1000, 2 + (hasZ ? 1 : 0) + (hasM ? 1 : 0), hasZ ? (hasM ? " ZM " : " Z ") : (hasM ? " M " : " "))
        }
    }

    private static func number(_ value: Double) -> String {
        var text = NumericText.floating(value)
        if !text.contains("e") && text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }

    /// One vertex; nil when all its coordinates are NaN (an empty point).
    private static func vertex(_ reader: inout Reader, dimensions: Int) throws -> String? {
        var coordinates: [Double] = []
        for _ in 0..<dimensions { coordinates.append(try reader.double()) }
        if coordinates.allSatisfy(\.isNaN) { return nil }
        return coordinates.map(number).joined(separator: " ")
    }

    private static func vertices(_ reader: inout Reader, dimensions: Int) throws -> String {
        let count = try reader.uint32()
        if count == 0 { return "EMPTY" }
        var parts: [String] = []
        for _ in 0..<count {
            var coordinates: [String] = []
            for _ in 0..<dimensions { coordinates.append(number(try reader.double())) }
            parts.append(coordinates.joined(separator: " "))
        }
        return "(" + parts.joined(separator: ", ") + ")"
    }

    private static func rings(_ reader: inout Reader, dimensions: Int) throws -> String {
        let count = try reader.uint32()
        if count == 0 { return "EMPTY" }
        var parts: [String] = []
        for _ in 0..<count { parts.append(try vertices(&reader, dimensions: dimensions)) }
        return "(" + parts.joined(separator: ", ") + ")"
    }

    private static func geometry(_ reader: inout Reader, into text: inout String, depth: Int) throws {
        guard depth < 256 else { throw MalformedGeometry() }
        let (type, dimensions, flag) = try reader.header()
        switch type {
        case 1:
            text += "POINT" + flag
            if let point = try vertex(&reader, dimensions: dimensions) { text += "(" + point + ")" } else { text += "EMPTY" }
        case 2:
            text += "LINESTRING" + flag + (try vertices(&reader, dimensions: dimensions))
        case 3:
            text += "POLYGON" + flag + (try rings(&reader, dimensions: dimensions))
        case 4, 5, 6:
            text += ["MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON"][Int(type) - 4] + flag
            let count = try reader.uint32()
            if count == 0 {
                text += "EMPTY"
                return
            }
            var parts: [String] = []
            for _ in 0..<count {
                let part = try reader.header()
                guard part.type == type - 3, part.dimensions == dimensions else { throw MalformedGeometry() }
                switch type {
                case 4: parts.append(try vertex(&reader, dimensions: dimensions) ?? "EMPTY")
                case 5: parts.append(try vertices(&reader, dimensions: dimensions))
                default: parts.append(try rings(&reader, dimensions: dimensions))
                }
            }
            text += "(" + parts.joined(separator: ", ") + ")"
        case 7:
            text += "GEOMETRYCOLLECTION" + flag
            let count = try reader.uint32()
            if count == 0 {
                text += "EMPTY"
                return
            }
            text += "("
            for index in 0..<count {
                if index > 0 { text += ", " }
                try geometry(&reader, into: &text, depth: depth + 1)
            }
            text += ")"
        default:
            throw MalformedGeometry()
        }
    }
}
