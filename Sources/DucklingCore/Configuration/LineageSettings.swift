import Foundation

/// Lineage of Duckling's own jobs and forwarding to another OpenLineage server (`lineage:` in the
/// file; `OPENLINEAGE_URL`, `OPENLINEAGE_ENDPOINT`, `OPENLINEAGE_API_KEY` and
/// `OPENLINEAGE_NAMESPACE` as the OpenLineage clients name them).
public struct LineageSettings: Sendable {
    /// The namespace of Duckling's jobs, and the first part of its datasets' namespaces
    /// (`duckling://NAMESPACE/DATABASE`).
    public var namespace = "duckling"
    /// Where every stored event is also sent (an OpenLineage HTTP server such as Marquez, or
    /// another Duckling), or nil.
    public var url: String?
    /// The path under `url` events are posted to.
    public var endpoint = "api/v1/lineage"
    /// Sent as `Authorization: Bearer KEY` with each forwarded event.
    public var apiKey: Secret?
    /// Events waiting to be forwarded, at most; past it new events are not queued (and counted).
    public var queueSize = 100_000
    /// The longest wait between two attempts to forward an event, in seconds.
    public var maxBackoffSeconds = 60
    /// How long one forwarding request may take, in seconds.
    public var timeoutSeconds = 10

    public init() {}

    /// The forwarding URL as it may be shown: scheme, host, port and path, never its user
    /// information or query (either may hold a token).
    public var displayURL: String? {
        forwardURL.map(Self.display)
    }

    static func display(_ url: String) -> String {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else { return "(unreadable URL)" }
        return "\(scheme)://\(host)\(components.port.map { ":\($0)" } ?? "")\(components.path)"
    }

    /// The URL events are posted to, when forwarding is on.
    public var forwardURL: String? {
        guard let url else { return nil }
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        let path = endpoint.hasPrefix("/") ? String(endpoint.dropFirst()) : endpoint
        return path.isEmpty ? base : "\(base)/\(path)"
    }
}
