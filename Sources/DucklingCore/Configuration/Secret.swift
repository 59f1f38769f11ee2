/// A configured secret (API key, password, S3 key). It is never printed: `description` masks it,
/// and the value is reached only through ``value`` where it is used.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String

    public init(_ value: String) {
        self.value = value
    }

    public var isEmpty: Bool { value.isEmpty }
    public var description: String { "••••••" }
    public var debugDescription: String { "Secret(••••••)" }
}
