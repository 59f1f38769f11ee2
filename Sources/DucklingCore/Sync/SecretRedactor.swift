import Foundation

/// Removes secrets from text that may leave the process (logs, status, the sync log, API errors):
/// source URLs (DuckDB's connection errors quote them whole), their passwords, and any other
/// configured secret value.
public struct SecretRedactor: Sendable {
    private let secrets: [String]

    public init(secrets: [String]) {
        // Longest first, so a URL is replaced whole before the password inside it.
        self.secrets = Array(Set(secrets.filter { $0.count >= 3 })).sorted { $0.count > $1.count }
    }

    /// A redactor for a database's sources: each URL, its password, and the same password percent-decoded.
    public init(sources: [SourceSettings], extra: [Secret] = []) {
        var secrets = extra.map(\.value)
        for source in sources {
            let url = source.url.value
            secrets.append(url)
            secrets.append(ConfigurationSummary.redacted(url))  // harmless, already masked
            if let password = Self.password(in: url) {
                secrets.append(password)
                if let decoded = password.removingPercentEncoding { secrets.append(decoded) }
            }
        }
        self.init(secrets: secrets.filter { !$0.contains("••••••") })
    }

    public func redact(_ text: String) -> String {
        var result = text
        for secret in secrets where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: secret.contains("://") ? ConfigurationSummary.redacted(secret) : "••••••")
        }
        return result
    }

    static func password(in url: String) -> String? {
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].lastIndex(of: "@") else { return nil }
        let credentials = url[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return nil }
        let password = String(credentials[credentials.index(after: colon)...])
        return password.isEmpty ? nil : password
    }
}
