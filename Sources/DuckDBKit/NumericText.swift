/// Decimal rendering of DuckDB's exact numeric types.
public enum NumericText {
    /// A DECIMAL: the unscaled value with the point inserted `scale` digits from the right.
    public static func decimal(_ value: Int128, scale: Int) -> String {
        guard scale > 0 else { return String(value) }
        var digits = String(value.magnitude)
        if digits.count <= scale {
            digits = String(repeating: "0", count: scale - digits.count + 1) + digits
        }
        let point = digits.index(digits.endIndex, offsetBy: -scale)
        return (value < 0 ? "-" : "") + digits[..<point] + "." + digits[point...]
    }

    /// A BIGNUM in base 10, from its sign and big-endian magnitude.
    public static func bignum(_ number: DuckDBValue.BigNum) -> String {
        // Convert base-256 digits to base-10^9 limbs (little-endian) by repeated multiply-add.
        var limbs: [UInt32] = [0]
        for byte in number.magnitude {
            var carry = UInt64(byte)
            for index in limbs.indices {
                let value = UInt64(limbs[index]) * 256 + carry
                limbs[index] = UInt32(value % 1_000_000_000)
                carry = value / 1_000_000_000
            }
            while carry > 0 {
                limbs.append(UInt32(carry % 1_000_000_000))
                carry /= 1_000_000_000
            }
        }
        while limbs.count > 1 && limbs.last == 0 { limbs.removeLast() }
        var text = String(limbs.last ?? 0)
        for limb in limbs.dropLast().reversed() {
            let part = String(limb)
            text += String(repeating: "0", count: 9 - part.count) + part
        }
        return number.isNegative && text != "0" ? "-" + text : text
    }

    /// A FLOAT or DOUBLE in DuckDB's spelling: shortest round-trip digits, `nan`, `inf`, `-inf`.
    public static func floating<F: BinaryFloatingPoint & LosslessStringConvertible>(_ value: F) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        return value.description
    }

    /// A UUID's canonical 8-4-4-4-12 lower-case hex form.
    public static func uuid(_ value: UInt128) -> String {
        let hex = String(value, radix: 16)
        let padded = String(repeating: "0", count: 32 - hex.count) + hex
        var text = ""
        for (index, character) in padded.enumerated() {
            if index == 8 || index == 12 || index == 16 || index == 20 { text.append("-") }
            text.append(character)
        }
        return text
    }

    /// A BLOB as DuckDB writes it: printable ASCII as is, other bytes (and `\`, `'`, `"`) as `\xHH`.
    public static func blob(_ bytes: some Sequence<UInt8>) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            if byte >= 32 && byte <= 126 && byte != UInt8(ascii: "\\") && byte != UInt8(ascii: "'") && byte != UInt8(ascii: "\"") {
                out.append(byte)
            } else {
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
