extension DuckDBValue {
    /// The value as DuckDB's `CAST(value AS VARCHAR)` writes it; nil for NULL.
    public var text: String? {
        switch self {
        case .null: nil
        case .boolean(let value): value ? "true" : "false"
        case .tinyint(let value): String(value)
        case .smallint(let value): String(value)
        case .integer(let value): String(value)
        case .bigint(let value): String(value)
        case .hugeint(let value): String(value)
        case .utinyint(let value): String(value)
        case .usmallint(let value): String(value)
        case .uinteger(let value): String(value)
        case .ubigint(let value): String(value)
        case .uhugeint(let value): String(value)
        case .float(let value): NumericText.floating(value)
        case .double(let value): NumericText.floating(value)
        case .decimal(let decimal): NumericText.decimal(decimal.value, scale: decimal.scale)
        case .varchar(let string), .enumeration(let string): string
        case .blob(let bytes): NumericText.blob(bytes)
        case .bit(let bitString): String(bitString.bits.map { $0 ? "1" : "0" })
        case .bignum(let number): NumericText.bignum(number)
        case .uuid(let value): NumericText.uuid(value)
        case .date(let days): TemporalText.date(days: days)
        case .time(let micros): TemporalText.time(micros: micros)
        case .timeNS(let nanos): TemporalText.timeNS(nanos: nanos)
        case .timeTZ(let micros, let offset): TemporalText.timeTZ(micros: micros, offsetSeconds: offset)
        case .timestamp(let micros): TemporalText.timestamp(micros: micros)
        case .timestampS(let seconds): TemporalText.timestamp(seconds: seconds)
        case .timestampMS(let millis): TemporalText.timestamp(millis: millis)
        case .timestampNS(let nanos): TemporalText.timestamp(nanos: nanos)
        case .timestampTZ(let micros): TemporalText.timestampTZ(micros: micros)
        case .interval(let interval): TemporalText.interval(months: interval.months, days: interval.days, micros: interval.micros)
        // DuckDB only stores valid WKB; a hand-built malformed value shows as its bytes.
        case .geometry(let wkb): (try? WKBText.render(wkb)) ?? NumericText.blob(wkb)
        case .list(let values), .array(let values):
            "[" + values.map(\.nestedText).joined(separator: ", ") + "]"
        case .structure(let fields):
            "{" + fields.map { Self.escaped($0.name, alwaysQuote: true) + ": " + $0.value.nestedText }.joined(separator: ", ") + "}"
        case .map(let entries):
            "{" + entries.map { $0.key.nestedText + "=" + $0.value.nestedText }.joined(separator: ", ") + "}"
        case .union(_, let value): value.text
        }
    }

    /// The text of a value inside a LIST, STRUCT or MAP: NULL spelled out, nested values as they
    /// are, other values quoted when they contain separators (DuckDB's nested VARCHAR cast).
    var nestedText: String {
        guard let text else { return "NULL" }
        return isNested ? text : Self.escaped(text, alwaysQuote: false)
    }

    private static func escaped(_ text: String, alwaysQuote: Bool) -> String {
        let bytes = Array(text.utf8)
        let needsQuotes: Bool
        if bytes.isEmpty || alwaysQuote {
            needsQuotes = true
        } else if isSpace(bytes[0]) || (bytes.count >= 2 && isSpace(bytes[bytes.count - 1])) {
            needsQuotes = true
        } else if text.lowercased() == "null" {
            needsQuotes = true
        } else {
            needsQuotes = bytes.contains { "\"'(),:=[]{}".utf8.contains($0) }
        }
        guard needsQuotes else { return text }
        var out: [UInt8] = [UInt8(ascii: "'")]
        for byte in bytes {
            if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
            out.append(byte)
        }
        out.append(UInt8(ascii: "'"))
        return String(decoding: out, as: UTF8.self)
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }
}
