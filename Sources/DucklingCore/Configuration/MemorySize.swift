import Foundation

/// Sizes of memory written as DuckDB writes them: `4GB`, `512 MiB`, `1.5GiB`, `100000B`.
/// Decimal units (KB, MB, GB, TB) are powers of 1000 and binary ones (KiB, MiB, GiB, TiB) powers
/// of 1024, as in DuckDB.
public enum MemorySize {
    /// The number of bytes `text` names, or nil when it is not a size.
    public static func bytes(_ text: String) -> UInt64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let number = trimmed.prefix { $0.isNumber || $0 == "." }
        let unit = trimmed.dropFirst(number.count).trimmingCharacters(in: .whitespaces).lowercased()
        guard let value = Double(number), value >= 0 else { return nil }
        let multipliers: [String: Double] = [
            "": 1, "b": 1, "bytes": 1,
            "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
            "kib": 1024, "mib": 1_048_576, "gib": 1_073_741_824, "tib": 1_099_511_627_776,
        ]
        guard let multiplier = multipliers[unit] else { return nil }
        let bytes = value * multiplier
        guard bytes < Double(UInt64.max) else { return nil }
        return UInt64(bytes)
    }

    /// `bytes` in DuckDB's notation, rounded down to whole MiB.
    public static func duckDBText(_ bytes: UInt64) -> String {
        "\(bytes / 1_048_576)MiB"
    }
}
