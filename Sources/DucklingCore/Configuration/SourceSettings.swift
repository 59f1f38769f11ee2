/// A database Duckling reads from. The URL may carry a password, so it is a ``Secret``.
public struct SourceSettings: Sendable {
    public enum Kind: String, Sendable {
        case postgres, mysql, sqlite
    }

    public var name: String
    public var kind: Kind
    public var url: Secret
    /// Seconds a connection attempt may take (`connect_timeout`), so a source that accepts
    /// connections and never answers fails the run instead of holding it.
    public var connectTimeoutSeconds: Int = 10

    public init(name: String, kind: Kind, url: Secret) {
        self.name = name
        self.kind = kind
        self.url = url
    }

    /// The kind a URL names: `postgresql://` or `postgres://`, `mysql://`, `sqlite:`.
    static func kind(of url: String) -> Kind? {
        let lower = url.lowercased()
        if lower.hasPrefix("postgresql://") || lower.hasPrefix("postgres://") { return .postgres }
        if lower.hasPrefix("mysql://") { return .mysql }
        if lower.hasPrefix("sqlite:") { return .sqlite }
        return nil
    }
}
