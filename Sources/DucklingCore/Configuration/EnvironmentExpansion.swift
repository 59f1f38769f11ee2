/// Expands `${VAR}` and `${VAR:-default}` in configuration values. `$$` writes a literal `$`.
enum EnvironmentExpansion {
    enum Failure: Error, Equatable {
        case missing(String)
        case unterminated
        case invalidName(String)
    }

    static func expand(_ text: String, environment: [String: String]) -> Result<String, Failure> {
        guard text.contains("$") else { return .success(text) }
        var output = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            let next = text.index(after: index)
            guard character == "$", next < text.endIndex else {
                output.append(character)
                index = next
                continue
            }
            if text[next] == "$" {
                output.append("$")
                index = text.index(after: next)
                continue
            }
            guard text[next] == "{" else {
                output.append(character)
                index = next
                continue
            }
            guard let close = text[next...].firstIndex(of: "}") else { return .failure(.unterminated) }
            let body = text[text.index(after: next)..<close]
            let (name, fallback): (Substring, Substring?) = if let separator = body.range(of: ":-") {
                (body[..<separator.lowerBound], body[separator.upperBound...])
            } else {
                (body, nil)
            }
            guard isValidName(name) else { return .failure(.invalidName(String(name))) }
            if let value = environment[String(name)], !value.isEmpty {
                output.append(value)
            } else if let fallback {
                output.append(contentsOf: fallback)
            } else {
                return .failure(.missing(String(name)))
            }
            index = text.index(after: close)
        }
        return .success(output)
    }

    private static func isValidName(_ name: Substring) -> Bool {
        guard let first = name.first, first == "_" || first.isLetter else { return false }
        return name.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
    }
}
