import Foundation
import Yams

/// Reads typed values out of a YAML document, recording a ``ConfigurationProblem`` for each thing
/// wrong instead of stopping at the first, and expanding `${VAR}` in every value.
final class ConfigReader {
    let origin: String
    let environment: [String: String]
    private(set) var problems: [ConfigurationProblem] = []

    init(origin: String, environment: [String: String]) {
        self.origin = origin
        self.environment = environment
    }

    func report(_ key: String, _ message: String) {
        problems.append(ConfigurationProblem(origin: origin, key: key, message: message))
    }

    /// A YAML mapping, its keys checked against the allowed ones.
    struct Table {
        let path: String
        let entries: [(key: String, node: Node)]

        subscript(key: String) -> Node? {
            entries.first { $0.key == key }?.node
        }

        func path(_ key: String) -> String {
            path.isEmpty ? key : "\(path).\(key)"
        }
    }

    func table(_ node: Node?, at path: String, allowed: [String]) -> Table? {
        guard let node else { return nil }
        if case .scalar(let scalar) = node, scalar.string.isEmpty || scalar.tag == .init(.null) {
            return Table(path: path, entries: [])
        }
        guard case .mapping(let mapping) = node else {
            report(path, "expected a mapping of keys to values, got \(describe(node))")
            return nil
        }
        var entries: [(String, Node)] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let keyScalar) = keyNode else {
                report(path, "keys must be plain names")
                continue
            }
            let key = keyScalar.string
            if !allowed.isEmpty && !allowed.contains(key) {
                let suggestion = Self.closest(to: key, in: allowed).map { " (did you mean '\($0)'?)" } ?? ""
                report(path.isEmpty ? key : "\(path).\(key)", "unknown key\(suggestion)")
                continue
            }
            entries.append((key, value))
        }
        return Table(path: path, entries: entries)
    }

    /// The entries of a mapping whose keys are names chosen by the user (databases, datasets, …).
    func namedTables(_ node: Node?, at path: String) -> [(name: String, node: Node)] {
        table(node, at: path, allowed: [])?.entries.map { ($0.key, $0.node) } ?? []
    }

    /// The keys of a mapping, without checking anything (problems are reported where it is read).
    static func keys(of node: Node?) -> [String] {
        guard case .mapping(let mapping) = node else { return [] }
        return mapping.keys.compactMap { if case .scalar(let scalar) = $0 { scalar.string } else { nil } }
    }

    // MARK: - Scalars

    /// The text of a scalar after `${VAR}` expansion; nil (with a problem) for anything else.
    func text(_ node: Node?, at path: String) -> String? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node else {
            report(path, "expected a single value, got \(describe(node))")
            return nil
        }
        switch EnvironmentExpansion.expand(scalar.string, environment: environment) {
        case .success(let value):
            return value
        case .failure(.missing(let name)):
            report(path, "environment variable \(name) is not set (use ${\(name):-default} for a default)")
        case .failure(.unterminated):
            report(path, "unterminated ${ in value")
        case .failure(.invalidName(let name)):
            report(path, "'\(name)' is not a valid environment variable name")
        }
        return nil
    }

    func string(_ table: Table, _ key: String) -> String? {
        text(table[key], at: table.path(key))
    }

    func secret(_ table: Table, _ key: String) -> Secret? {
        string(table, key).flatMap { $0.isEmpty ? nil : Secret($0) }
    }

    func int(_ table: Table, _ key: String, in range: ClosedRange<Int>) -> Int? {
        guard let value = string(table, key) else { return nil }
        return parseInt(value, key: table.path(key), range: range)
    }

    func bool(_ table: Table, _ key: String) -> Bool? {
        guard let value = string(table, key) else { return nil }
        return parseBool(value, key: table.path(key))
    }

    func choice<Choice: RawRepresentable & CaseIterable>(_ table: Table, _ key: String, as: Choice.Type) -> Choice?
    where Choice.RawValue == String {
        guard let value = string(table, key) else { return nil }
        if let choice = Choice(rawValue: value) { return choice }
        report(table.path(key), "expected one of \(Choice.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")), got '\(value)'")
        return nil
    }

    /// A list of strings; a single string counts as a list of one.
    func strings(_ table: Table, _ key: String) -> [String]? {
        guard let node = table[key] else { return nil }
        if case .sequence(let sequence) = node {
            return sequence.enumerated().compactMap { index, item in text(item, at: "\(table.path(key))[\(index)]") }
        }
        return text(node, at: table.path(key)).map { [$0] }
    }

    /// A duration: whole seconds, or a number with `s`, `m`, `h` or `d`.
    func seconds(_ table: Table, _ key: String) -> Int? {
        guard let value = string(table, key)?.trimmingCharacters(in: .whitespaces) else { return nil }
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        let (digits, unit) = if let last = value.last, let factor = units[last] {
            (String(value.dropLast()), factor)
        } else {
            (value, 1)
        }
        guard let amount = Int(digits), amount >= 0 else {
            report(table.path(key), "expected a duration such as 30s, 5m, 2h or 1d, got '\(value)'")
            return nil
        }
        let (product, overflow) = amount.multipliedReportingOverflow(by: unit)
        return overflow ? Int.max : product
    }

    /// An interval in seconds: a plain number counts in `unit` seconds (the unit the key's name
    /// says, such as minutes for `sync_interval_minutes`), or a duration such as `90s`, `15m`, `6h`.
    func interval(_ table: Table, _ key: String, unit: Int, in range: ClosedRange<Int>) -> Int? {
        guard let value = string(table, key)?.trimmingCharacters(in: .whitespaces) else { return nil }
        let total: Int
        if let amount = Int(value.replacingOccurrences(of: "_", with: "")) {
            let (product, overflow) = amount.multipliedReportingOverflow(by: unit)
            total = overflow ? Int.max : product
        } else if let parsed = seconds(table, key) {
            total = parsed
        } else {
            return nil
        }
        guard range.contains(total) else {
            report(table.path(key), "must be between \(Self.describe(seconds: range.lowerBound)) and \(Self.describe(seconds: range.upperBound)), got '\(value)'")
            return nil
        }
        return total
    }

    /// `seconds` the way a person would write it: `90s`, `15m`, `6h`, `2d`.
    static func describe(seconds: Int) -> String {
        for (unit, factor) in [("d", 86_400), ("h", 3600), ("m", 60)] where seconds >= factor && seconds % factor == 0 {
            return "\(seconds / factor)\(unit)"
        }
        return "\(seconds)s"
    }

    // MARK: - Typed text (also used for environment variables)

    func parseInt(_ text: String, key: String, range: ClosedRange<Int>) -> Int? {
        guard let value = Int(text.replacingOccurrences(of: "_", with: "").trimmingCharacters(in: .whitespaces)) else {
            report(key, "expected a whole number, got '\(text)'")
            return nil
        }
        guard range.contains(value) else {
            report(key, "must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
            return nil
        }
        return value
    }

    func parseBool(_ text: String, key: String) -> Bool? {
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default:
            report(key, "expected true or false, got '\(text)'")
            return nil
        }
    }

    // MARK: - Helpers

    private func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): "'\(scalar.string)'"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    /// The allowed key nearest to a misspelt one, if it is close enough to be a likely typo.
    static func closest(to key: String, in candidates: [String]) -> String? {
        let scored = candidates.map { ($0, editDistance(key, $0)) }.min { $0.1 < $1.1 }
        guard let (candidate, distance) = scored, distance <= max(2, key.count / 3) else { return nil }
        return candidate
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for (i, ca) in a.enumerated() {
            var current = [i + 1]
            for (j, cb) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (ca == cb ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}

extension ConfigReader {
    /// An S3 location (`s3://bucket/prefix`) and how to reach it (`endpoint`, `region`, keys,
    /// `path_style`) from `table`: shared by backups and the lake. Nil after reporting a problem.
    func s3Connection(_ table: Table, bucketURL: String, at key: String) -> S3Settings? {
        guard bucketURL.hasPrefix("s3://") else {
            report(key, "expected s3://bucket/prefix, got '\(bucketURL)'")
            return nil
        }
        let rest = bucketURL.dropFirst("s3://".count)
        let bucket = String(rest.prefix { $0 != "/" })
        let prefix = rest.dropFirst(bucket.count).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        guard Names.isValidBucket(bucket) else {
            report(key, "'\(bucket)' is not a valid bucket name")
            return nil
        }
        let region = string(table, "region") ?? "us-east-1"
        var s3 = S3Settings(bucket: bucket, prefix: prefix, endpoint: string(table, "endpoint") ?? "https://s3.\(region).amazonaws.com")
        if URL(string: s3.endpoint)?.scheme.map({ ["http", "https"].contains($0) }) != true {
            report(table.path("endpoint"), "expected an http:// or https:// URL, got '\(s3.endpoint)'")
        }
        s3.region = region
        s3.accessKey = secret(table, "access_key")
        s3.secretKey = secret(table, "secret_key")
        s3.sessionToken = secret(table, "session_token")
        if let pathStyle = bool(table, "path_style") { s3.pathStyle = pathStyle }
        if (s3.accessKey == nil) != (s3.secretKey == nil) {
            report(table.path, "give both access_key and secret_key, or neither")
        }
        return s3
    }
}
