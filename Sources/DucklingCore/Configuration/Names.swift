/// Rules for names that come from configuration or requests and end up in SQL or paths.
public enum Names {
    /// A database id: letters, digits, `-`, `_`; 1–64 characters.
    public static func isValidDatabaseID(_ id: String) -> Bool {
        (1...64).contains(id.count) && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }
    }

    /// A dataset, source or table name: an identifier of letters, digits and `_`, not starting with a digit.
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.first, first.isASCII, first.isLetter || first == "_", name.count <= 63 else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }

    /// `table` or `schema.table`.
    public static func isValidQualifiedTable(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        return (1...2).contains(parts.count) && parts.allSatisfy { isValidName(String($0)) }
    }

    /// A column named in configuration: any printable text (it is always quoted), but not empty.
    public static func isValidColumn(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 255 && !name.unicodeScalars.contains { $0.value < 0x20 }
    }

    /// A bucket name by S3's rules: 3–63 lower-case letters, digits, `.` and `-`; starting and ending
    /// with a letter or digit; no `..`, `.-` or `-.`; not an IP address; none of S3's reserved
    /// prefixes (`xn--`, `sthree-`, `amzn-s3-demo-`) or suffixes (`-s3alias`, `--ol-s3`, `.mrap`, `--x-s3`).
    public static func isValidBucket(_ name: String) -> Bool {
        guard (3...63).contains(name.count),
              name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "." || $0 == "-") }),
              let first = name.first, let last = name.last,
              first.isLetter || first.isNumber, last.isLetter || last.isNumber,
              !name.contains(".."), !name.contains(".-"), !name.contains("-.") else { return false }
        let parts = name.split(separator: ".")
        if parts.count == 4 && parts.allSatisfy({ $0.allSatisfy(\.isNumber) }) { return false }
        if ["xn--", "sthree-", "amzn-s3-demo-"].contains(where: name.hasPrefix) { return false }
        if ["-s3alias", "--ol-s3", ".mrap", "--x-s3"].contains(where: name.hasSuffix) { return false }
        return true
    }
}
