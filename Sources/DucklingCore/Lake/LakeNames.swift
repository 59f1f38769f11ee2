import DuckDBKit
import Foundation

/// What may name a lake table or column, and what may be written as a column type: validated
/// before anything reaches SQL, where names are always quoted.
enum LakeNames {
    /// A table or column name: letters, digits and `_`, not starting with a digit, at most 63.
    static func checkName(_ name: String, what: String) throws {
        guard Names.isValidName(name) else {
            throw LakeError.invalid("invalid_name", "'\(name.prefix(80))' is not a valid \(what) name: use up to 63 letters, digits and _, not starting with a digit")
        }
    }

    /// A DuckDB type as text: names, sizes and nested types (`DECIMAL(18,3)`, `VARCHAR[]`,
    /// `INTEGER[3]`, `STRUCT(a INTEGER, b MAP(VARCHAR, DOUBLE))`), nothing else (no quotes, no
    /// `;`, balanced brackets). Whether DuckDB and DuckLake know the type is theirs to say.
    static func checkType(_ type: String) throws {
        var depth = 0
        var valid = !type.isEmpty && type.count <= 512
        for character in type where valid {
            switch character {
            case "(", "[": depth += 1
            case ")", "]":
                depth -= 1
                valid = depth >= 0
            case " ", ",", "_": break
            default: valid = character.isASCII && (character.isLetter || character.isNumber)
            }
        }
        guard valid, depth == 0 else {
            throw LakeError.invalid("invalid_type", "'\(type.prefix(80))' is not a type DuckDB can name (letters, digits, _, spaces, commas and balanced brackets)")
        }
    }

    /// A partition key: a column name, or `year(c)`, `month(c)`, `day(c)`, `hour(c)` of one.
    static func partitionKey(_ key: String, columns: Set<String>) throws -> String {
        let trimmed = key.trimmingCharacters(in: .whitespaces)
        if columns.contains(trimmed) { return SQL.quoted(trimmed) }
        for function in ["year", "month", "day", "hour"] where trimmed.lowercased().hasPrefix(function + "(") && trimmed.hasSuffix(")") {
            let column = String(trimmed.dropFirst(function.count + 1).dropLast()).trimmingCharacters(in: .whitespaces)
            if columns.contains(column) { return "\(function)(\(SQL.quoted(column)))" }
        }
        throw LakeError.invalid("invalid_partition", "'\(key.prefix(80))' is not a partition key: name a column, or year/month/day/hour of one")
    }
}
