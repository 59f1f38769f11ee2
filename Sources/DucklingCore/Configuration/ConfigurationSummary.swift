import Foundation

/// The effective configuration as text for people, every secret masked.
public struct ConfigurationSummary {
    public let text: String

    public init(_ configuration: DucklingConfiguration) {
        var lines: [String] = ["configuration: \(configuration.file ?? "none (defaults and environment)")", ""]
        let server = configuration.server
        lines.append("server:")
        lines.append("  address: \(server.host):\(server.port)")
        lines.append("  data_dir: \(server.dataDirectory)")
        lines.append("  api_key: \(server.apiKey.map { "set (\($0))" } ?? "not set (generated at \(server.dataDirectory)/api-key on first start)")")
        lines.append("  read_only_keys: \(server.readOnlyKeys.count)")
        let engine = configuration.engine
        lines.append("duckdb:")
        lines.append("  memory_limit: \(engine.memoryLimit ?? "\(engine.maxMemoryPercentage)% of RAM") for every DuckDB instance together")
        lines.append("  threads: \(engine.threads.map(String.init) ?? "one per core")")
        lines.append("  temp_directory: \(engine.tempDirectory ?? "-")")
        lines.append("  sync_mode: \(engine.syncMode.rawValue), sync_workers: \(engine.syncWorkers)")
        let query = configuration.query
        lines.append("query:")
        lines.append("  timeout: \(query.defaultTimeoutMilliseconds) ms (max \(query.maxTimeoutMilliseconds) ms), concurrent: \(query.maxConcurrent), queued: \(query.maxQueued)")
        lines.append("databases:")
        for database in configuration.databases {
            lines.append("  \(database.id):")
            lines.append("    path: \(database.path)")
            for source in database.sources {
                lines.append("    source \(source.name): \(Self.redacted(source.url.value))")
            }
            for dataset in database.datasets {
                let shape = switch dataset.shape {
                case .table(let table): "table \(table)"
                case .split: "split queries"
                }
                lines.append("    dataset \(dataset.name): \(shape) from \(dataset.source)"
                    + (dataset.incrementalColumn.map { ", incremental on \($0)" } ?? ", full each run"))
            }
            lines.append("    backups: \(database.backup.localDirectory) (keep \(database.backup.keepLast), \(database.backup.retentionDays) days)")
            if let s3 = database.backup.s3 {
                lines.append("    s3: s3://\(s3.bucket)/\(s3.prefix) at \(s3.endpoint), encryption \(s3.encryption.rawValue), access key \(s3.accessKey.map { "\($0)" } ?? "none")")
            }
            if !database.apiKeys.isEmpty { lines.append("    api_keys: \(database.apiKeys.count)") }
        }
        let lineage = configuration.lineage
        lines.append("lineage: namespace \(lineage.namespace), forwarding \(lineage.displayURL.map { "to \($0)" } ?? "off")"
            + (lineage.apiKey.map { ", api key \($0)" } ?? ""))
        let lake = configuration.lake
        lines.append("lake: \(lake.enabled ? "enabled" : "disabled")")
        if lake.enabled {
            let catalog = switch lake.catalog {
            case .file(let path): path
            case .postgres(let url): "\(Self.redacted(url.value)) (schema \(lake.metadataSchema))"
            }
            lines.append("  catalog: \(catalog)")
            lines.append("  data_path: \(lake.dataPath.url)")
            lines.append("  datasets: \(lake.datasets.url)")
            if let s3 = lake.s3 {
                lines.append("  s3: \(s3.endpoint), access key \(s3.accessKey.map { "\($0)" } ?? "none")")
            }
            lines.append("  snapshot_max_age: \(ConfigReader.describe(seconds: lake.snapshotMaxAgeSeconds)), max_append_bytes: \(lake.maxAppendBytes)")
        }
        self.text = lines.joined(separator: "\n")
    }

    /// A connection URL with its password (and any `password=` parameter) masked.
    public static func redacted(_ url: String) -> String {
        var text = url
        if let scheme = text.range(of: "://"), let at = text[scheme.upperBound...].lastIndex(of: "@") {
            let credentials = text[scheme.upperBound..<at]
            if let colon = credentials.firstIndex(of: ":") {
                text.replaceSubrange(text.index(after: colon)..<at, with: "••••••")
            }
        }
        // Every password parameter (sslpassword too), quoted or not.
        let parameter = try? NSRegularExpression(pattern: #"(password\s*=\s*)('[^']*'|"[^"]*"|[^&\s]*)"#, options: [.caseInsensitive])
        if let parameter {
            text = parameter.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "$1••••••")
        }
        return text
    }
}
