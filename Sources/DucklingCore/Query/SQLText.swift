/// Small lexical helpers over SQL text. They never decide what SQL means: DuckDB's parser does.
enum SQLText {
    /// The first keyword, upper-cased, after whitespace, comments and opening parentheses.
    static func firstKeyword(_ sql: String) -> String? {
        let bytes = Array(sql.utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x20 || (0x09...0x0D).contains(byte) || byte == UInt8(ascii: "(") {
                index += 1
            } else if byte == UInt8(ascii: "-"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "-") {
                while index < bytes.count && bytes[index] != 0x0A { index += 1 }
            } else if byte == UInt8(ascii: "/"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "*") {
                var depth = 1
                index += 2
                while index < bytes.count && depth > 0 {
                    if bytes[index] == UInt8(ascii: "*"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "/") {
                        depth -= 1
                        index += 2
                    } else if bytes[index] == UInt8(ascii: "/"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "*") {
                        depth += 1
                        index += 2
                    } else {
                        index += 1
                    }
                }
            } else {
                break
            }
        }
        var end = index
        while end < bytes.count, bytes[end] < 0x80, Character(UnicodeScalar(bytes[end])).isLetter || bytes[end] == UInt8(ascii: "_") {
            end += 1
        }
        guard end > index else { return index < bytes.count ? String(decoding: bytes[index..<min(index + 1, bytes.count)], as: UTF8.self) : nil }
        return String(decoding: bytes[index..<end], as: UTF8.self).uppercased()
    }

    /// `sql` without trailing semicolons and whitespace, so it can be nested as a subquery.
    static func withoutTrailingSemicolons(_ sql: String) -> Substring {
        var text = Substring(sql)
        while let last = text.last, last == ";" || last.isWhitespace { text.removeLast() }
        return text
    }
}
