/// Writing text into a byte buffer without intermediate strings where it matters.
extension Array where Element == UInt8 {
    @inline(__always)
    mutating func append(ascii text: StaticString) {
        text.withUTF8Buffer { append(contentsOf: $0) }
    }

    @inline(__always)
    mutating func append(text: String) {
        var text = text
        text.withUTF8 { append(contentsOf: $0) }
    }

    /// Decimal digits of an integer.
    mutating func append<T: FixedWidthInteger>(integer value: T) {
        if value == 0 {
            append(UInt8(ascii: "0"))
            return
        }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)  // 40 bytes of scratch
        let count = Swift.withUnsafeMutableBytes(of: &digits) { scratch -> Int in
            var index = scratch.count
            while magnitude > 0 {
                index -= 1
                scratch[index] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
            }
            return scratch.count - index
        }
        if value < 0 { append(UInt8(ascii: "-")) }
        Swift.withUnsafeBytes(of: &digits) { append(contentsOf: $0[($0.count - count)...]) }
    }

    /// A JSON string literal of UTF-8 bytes.
    mutating func append(jsonString bytes: UnsafeRawBufferPointer) {
        append(UInt8(ascii: "\""))
        var start = 0
        for index in 0..<bytes.count {
            let byte = bytes[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
            switch byte {
            case UInt8(ascii: "\""): append(ascii: "\\\"")
            case UInt8(ascii: "\\"): append(ascii: "\\\\")
            case 0x0A: append(ascii: "\\n")
            case 0x0D: append(ascii: "\\r")
            case 0x09: append(ascii: "\\t")
            case 0x08: append(ascii: "\\b")
            case 0x0C: append(ascii: "\\f")
            default:
                let hex = Array("0123456789abcdef".utf8)
                append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            }
            start = index + 1
        }
        append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start...]))
        append(UInt8(ascii: "\""))
    }

    mutating func append(jsonString text: String) {
        var text = text
        text.withUTF8 { append(jsonString: UnsafeRawBufferPointer($0)) }
    }

    /// A CSV field (RFC 4180): quoted when empty or when it holds a comma, quote or line break,
    /// so an empty string stays distinguishable from NULL (an empty field).
    mutating func append(csvField bytes: UnsafeRawBufferPointer) {
        let needsQuotes = bytes.isEmpty || bytes.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }
        guard needsQuotes else {
            append(contentsOf: bytes)
            return
        }
        append(UInt8(ascii: "\""))
        for byte in bytes {
            if byte == UInt8(ascii: "\"") { append(UInt8(ascii: "\"")) }
            append(byte)
        }
        append(UInt8(ascii: "\""))
    }

    mutating func append(csvField text: String) {
        var text = text
        text.withUTF8 { append(csvField: UnsafeRawBufferPointer($0)) }
    }
}
