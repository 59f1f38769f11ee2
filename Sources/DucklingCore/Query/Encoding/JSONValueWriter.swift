import DuckDBKit
import Foundation

/// How values appear in JSON: numbers for small integers and finite floats; strings for 64-bit
/// and wider integers and decimals (exact in any client), for temporal types (DuckDB's text),
/// for BLOBs (base64) and geometries (WKT); arrays, objects and MAPs as objects keyed by key text.
enum JSONValueWriter {
    static func write(_ value: DuckDBValue, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(ascii: "null")
        case .boolean(let flag): flag ? out.append(ascii: "true") : out.append(ascii: "false")
        case .tinyint(let number): out.append(integer: number)
        case .smallint(let number): out.append(integer: number)
        case .integer(let number): out.append(integer: number)
        case .utinyint(let number): out.append(integer: number)
        case .usmallint(let number): out.append(integer: number)
        case .uinteger(let number): out.append(integer: number)
        case .float(let number): writeFloating(number, into: &out)
        case .double(let number): writeFloating(number, into: &out)
        case .varchar(let text), .enumeration(let text): out.append(jsonString: text)
        case .blob(let bytes): out.append(jsonString: Data(bytes).base64EncodedString())
        case .list(let values), .array(let values):
            out.append(UInt8(ascii: "["))
            for (index, element) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(element, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .structure(let fields):
            out.append(UInt8(ascii: "{"))
            for (index, field) in fields.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out.append(jsonString: field.name)
                out.append(UInt8(ascii: ":"))
                write(field.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .map(let entries):
            out.append(UInt8(ascii: "{"))
            for (index, entry) in entries.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out.append(jsonString: entry.key.text ?? "")
                out.append(UInt8(ascii: ":"))
                write(entry.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .union(_, let member): write(member, into: &out)
        case .bigint, .hugeint, .ubigint, .uhugeint, .bignum, .decimal, .bit, .uuid, .date, .time, .timeNS,
             .timeTZ, .timestamp, .timestampS, .timestampMS, .timestampNS, .timestampTZ, .interval, .geometry:
            out.append(jsonString: value.text ?? "")
        }
    }

    /// A finite number as a JSON number; NaN and infinities as DuckDB's text ("nan", "inf", "-inf").
    static func writeFloating<F: BinaryFloatingPoint & LosslessStringConvertible>(_ number: F, into out: inout [UInt8]) {
        if number.isFinite {
            out.append(text: number.description)
        } else {
            out.append(jsonString: NumericText.floating(number))
        }
    }
}
