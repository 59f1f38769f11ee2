/// One thing wrong with the configuration: where (file or environment, key) and what.
public struct ConfigurationProblem: Sendable, Hashable, CustomStringConvertible {
    /// The file, or "environment" for a variable.
    public let origin: String
    /// A dotted key path (`databases.lms.datasets.orders.primary_key`) or a variable name.
    public let key: String
    public let message: String

    public init(origin: String, key: String, message: String) {
        self.origin = origin
        self.key = key
        self.message = message
    }

    public var description: String {
        key.isEmpty ? "\(origin): \(message)" : "\(origin): \(key): \(message)"
    }
}

/// The configuration cannot be used; every problem found is listed.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public let problems: [ConfigurationProblem]

    public init(problems: [ConfigurationProblem]) {
        self.problems = problems
    }

    public var description: String {
        "invalid configuration (\(problems.count) problem\(problems.count == 1 ? "" : "s")):\n"
            + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}
