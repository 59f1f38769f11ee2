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

extension SecretRedactor {
    /// Every secret `configuration` holds (each source's URL and password, every key, the S3
    /// credentials and backup keys, the lake's catalog URL, lineage's key), and `extra`.
    public init(configuration: DucklingConfiguration, extra: [Secret] = []) {
        var secrets = extra + [configuration.server.apiKey, configuration.lineage.apiKey].compactMap { $0 } + configuration.server.readOnlyKeys
        var sources = configuration.databases.flatMap(\.sources)
        for s3 in configuration.databases.compactMap(\.backup.s3) + [configuration.lake.s3].compactMap({ $0 }) {
            secrets += [s3.accessKey, s3.secretKey, s3.sessionToken, s3.encryptionKey, s3.passphrase].compactMap { $0 }
        }
        secrets += configuration.databases.flatMap(\.apiKeys)
        if case .postgres(let url) = configuration.lake.catalog {
            sources.append(SourceSettings(name: "lake catalog", kind: .postgres, url: url))
        }
        self.init(sources: sources, extra: secrets)
    }
}
