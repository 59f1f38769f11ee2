import Foundation
import Yams

/// Builds a ``DucklingConfiguration`` from `duckling.yaml`, the environment and command-line
/// flags (in rising precedence), reporting every problem at once.
///
/// Relative paths in the file are resolved against the file's directory; paths given on the
/// command line or in the environment against the working directory.
public struct ConfigurationLoader: Sendable {
    /// Values given on the command line; they win over the file and the environment.
    public struct Overrides: Sendable {
        public var host: String?
        public var port: Int?
        public var dataDirectory: String?

        public init(host: String? = nil, port: Int? = nil, dataDirectory: String? = nil) {
            self.host = host
            self.port = port
            self.dataDirectory = dataDirectory
        }
    }

    public let environment: [String: String]
    public let workingDirectory: String

    /// Reads this process's environment and working directory unless others are given.
    public init(environment: [String: String]? = nil, workingDirectory: String? = nil) {
        self.environment = environment ?? ProcessInfo.processInfo.environment
        self.workingDirectory = workingDirectory ?? FileManager.default.currentDirectoryPath
    }

    /// The configuration file to use: the one given, else `DUCKLING_CONFIG`, else none.
    public func configurationFile(explicit: String?) -> String? {
        explicit ?? environment["DUCKLING_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
    }

    public func load(file: String?, overrides: Overrides = Overrides()) throws(ConfigurationError) -> DucklingConfiguration {
        let path = file.map { Self.absolute($0, base: workingDirectory, home: environment["HOME"]) }
        let reader = ConfigReader(origin: path.map { ($0 as NSString).lastPathComponent } ?? "configuration", environment: environment)
        let root = path.flatMap { readDocument(at: $0, reader: reader) }
        let fileDirectory = path.map { ($0 as NSString).deletingLastPathComponent } ?? workingDirectory

        let top = reader.table(root, at: "", allowed: ["server", "duckdb", "query", "automation", "databases", "lake", "events", "lineage"])
        var server = ServerSettings()
        var engine = EngineSettings()
        var query = QuerySettings()
        var automation = AutomationSettings()
        var serverDataDirectoryFromFile = false
        if let table = reader.table(top?["server"], at: "server", allowed: ["host", "port", "data_dir", "api_key", "read_only_keys", "max_body_bytes", "tls"]) {
            if let host = reader.string(table, "host") { server.host = host }
            if let port = reader.int(table, "port", in: 1...65535) { server.port = port }
            if let directory = reader.string(table, "data_dir") {
                server.dataDirectory = directory
                serverDataDirectoryFromFile = true
            }
            server.apiKey = reader.secret(table, "api_key")
            if let keys = reader.strings(table, "read_only_keys") { server.readOnlyKeys = keys.filter { !$0.isEmpty }.map(Secret.init) }
            if let limit = reader.int(table, "max_body_bytes", in: 1024...(1 << 30)) { server.maxBodyBytes = limit }
            if let tls = reader.table(table["tls"], at: "server.tls", allowed: ["certificate", "private_key"]) {
                let certificate = reader.string(tls, "certificate")
                let key = reader.string(tls, "private_key")
                if let certificate, let key {
                    server.tls = ServerSettings.TLSFiles(
                        certificate: Self.absolute(certificate, base: fileDirectory, home: environment["HOME"]),
                        privateKey: Self.absolute(key, base: fileDirectory, home: environment["HOME"]))
                } else {
                    reader.report("server.tls", "needs both certificate and private_key (PEM files)")
                }
            }
        }
        if let table = reader.table(top?["duckdb"], at: "duckdb", allowed: [
            "memory_limit", "max_memory_percentage", "threads", "temp_directory", "extension_directory",
            "sync_mode", "sync_workers", "parquet_compression", "parquet_row_group_size",
        ]) {
            engine.memoryLimit = reader.string(table, "memory_limit")
            if let percentage = reader.int(table, "max_memory_percentage", in: 1...100) { engine.maxMemoryPercentage = percentage }
            engine.threads = reader.int(table, "threads", in: 1...1024)
            engine.tempDirectory = reader.string(table, "temp_directory").map { Self.absolute($0, base: fileDirectory, home: environment["HOME"]) }
            engine.extensionDirectory = reader.string(table, "extension_directory").map { Self.absolute($0, base: fileDirectory, home: environment["HOME"]) }
            if let mode = reader.choice(table, "sync_mode", as: EngineSettings.SyncMode.self) { engine.syncMode = mode }
            if let workers = reader.int(table, "sync_workers", in: 1...64) { engine.syncWorkers = workers }
            if let compression = reader.string(table, "parquet_compression") { engine.parquetCompression = compression.lowercased() }
            engine.parquetRowGroupSize = reader.int(table, "parquet_row_group_size", in: 1...100_000_000)
        }
        if let table = reader.table(top?["query"], at: "query", allowed: [
            "default_timeout_ms", "max_timeout_ms", "max_concurrent", "max_queued", "slow_query_ms",
            "breaker_failures", "breaker_cooldown", "statistics", "statement_cache_size",
        ]) {
            if let value = reader.int(table, "default_timeout_ms", in: 1...86_400_000) { query.defaultTimeoutMilliseconds = value }
            if let value = reader.int(table, "max_timeout_ms", in: 1...86_400_000) { query.maxTimeoutMilliseconds = value }
            if let value = reader.int(table, "max_concurrent", in: 1...256) { query.maxConcurrent = value }
            if let value = reader.int(table, "max_queued", in: 0...100_000) { query.maxQueued = value }
            if let value = reader.int(table, "slow_query_ms", in: 0...86_400_000) { query.slowQueryMilliseconds = value }
            if let value = reader.int(table, "breaker_failures", in: 0...10_000) { query.breakerFailures = value }
            if let value = reader.interval(table, "breaker_cooldown", unit: 1, in: 1...86_400) { query.breakerCooldownSeconds = value }
            if let value = reader.bool(table, "statistics") { query.statistics = value }
            if let value = reader.int(table, "statement_cache_size", in: 0...4096) { query.statementCacheSize = value }
        }
        var events = EventSettings()
        if let table = reader.table(top?["events"], at: "events", allowed: [
            "heartbeat", "retry_ms", "history_size", "history_bytes", "client_queue_size", "max_clients", "ping_interval",
            "inactivity_timeout", "metrics_interval",
        ]) {
            if let value = reader.interval(table, "heartbeat", unit: 1, in: 1...3_600) { events.heartbeatSeconds = value }
            if let value = reader.int(table, "retry_ms", in: 0...3_600_000) { events.retryMilliseconds = value }
            if let value = reader.int(table, "history_size", in: 0...1_000_000) { events.historySize = value }
            if let text = reader.string(table, "history_bytes") {
                if let bytes = MemorySize.bytes(text), bytes >= 1 << 20 {
                    events.historyBytes = Int(bytes)
                } else {
                    reader.report("events.history_bytes", "expected a size of at least 1MiB such as 64MiB, got '\(text)'")
                }
            }
            if let value = reader.int(table, "client_queue_size", in: 1...1_000_000) { events.clientQueueSize = value }
            if let value = reader.int(table, "max_clients", in: 1...100_000) { events.maxClients = value }
            if let value = reader.interval(table, "ping_interval", unit: 1, in: 1...3_600) { events.pingSeconds = value }
            if let value = reader.interval(table, "inactivity_timeout", unit: 1, in: 1...86_400) { events.inactivitySeconds = value }
            if let value = reader.interval(table, "metrics_interval", unit: 1, in: 0...86_400) { events.metricsSeconds = value }
        }
        var lineage = LineageSettings()
        if let table = reader.table(top?["lineage"], at: "lineage", allowed: [
            "namespace", "url", "endpoint", "api_key", "queue_size", "max_backoff", "timeout",
        ]) {
            if let value = reader.string(table, "namespace") { lineage.namespace = value }
            if let value = reader.string(table, "url") { lineage.url = value }
            if let value = reader.string(table, "endpoint") { lineage.endpoint = value }
            if let value = reader.secret(table, "api_key") { lineage.apiKey = value }
            if let value = reader.int(table, "queue_size", in: 1...10_000_000) { lineage.queueSize = value }
            if let value = reader.interval(table, "max_backoff", unit: 1, in: 1...86_400) { lineage.maxBackoffSeconds = value }
            if let value = reader.interval(table, "timeout", unit: 1, in: 1...3_600) { lineage.timeoutSeconds = value }
        }
        if let table = reader.table(top?["automation"], at: "automation", allowed: AutomationKeys.all) {
            AutomationKeys.apply(table, reader: reader, to: &automation)
        }

        // The environment overrides the file, and the command line overrides both.
        let environmentReader = ConfigReader(origin: "environment", environment: environment)
        EnvironmentOverrides.apply(environment, reader: environmentReader, server: &server, engine: &engine, automation: &automation, lineage: &lineage)
        if environment["DUCKLING_DATA_DIR"].map({ !$0.isEmpty }) == true { serverDataDirectoryFromFile = false }
        if lineage.namespace.isEmpty { reader.report("lineage.namespace", "must not be empty") }
        if let url = lineage.url {
            let lower = url.lowercased()
            if !(lower.hasPrefix("http://") || lower.hasPrefix("https://")) || URL(string: url)?.host == nil {
                reader.report("lineage.url", "expected an http:// or https:// URL of an OpenLineage server (OPENLINEAGE_URL), got '\(LineageSettings.display(url))'")
            }
        }
        // Paths from the environment are relative to the working directory.
        engine.tempDirectory = engine.tempDirectory.map { Self.absolute($0, base: workingDirectory, home: environment["HOME"]) }
        if let host = overrides.host { server.host = host }
        if let port = overrides.port { server.port = port }
        if let directory = overrides.dataDirectory {
            server.dataDirectory = directory
            serverDataDirectoryFromFile = false
        }
        server.dataDirectory = Self.absolute(
            server.dataDirectory, base: serverDataDirectoryFromFile ? fileDirectory : workingDirectory, home: environment["HOME"])
        if engine.tempDirectory == nil { engine.tempDirectory = server.dataDirectory + "/tmp" }
        if let limit = engine.memoryLimit, MemorySize.bytes(limit) == nil {
            reader.report("duckdb.memory_limit", "expected a size such as 4GB or 512MiB, got '\(limit)'")
        }
        if query.defaultTimeoutMilliseconds > query.maxTimeoutMilliseconds {
            reader.report("query.default_timeout_ms", "is larger than query.max_timeout_ms (\(query.maxTimeoutMilliseconds))")
        }

        if !ParquetSettings.compressions.contains(engine.parquetCompression) {
            reader.report("duckdb.parquet_compression", "must be one of \(ParquetSettings.compressions.sorted().joined(separator: ", ")) (PARQUET_COMPRESSION), not '\(engine.parquetCompression)'")
        }
        let databases = DatabasesSection(reader: reader, fileDirectory: fileDirectory, dataDirectory: server.dataDirectory, home: environment["HOME"])
            .parse(top?["databases"], automation: automation, environment: environment)

        let lake = LakeSection(reader: reader, fileDirectory: fileDirectory, dataDirectory: server.dataDirectory, home: environment["HOME"])
            .parse(top?["lake"], environment: environment)

        if lake.enabled, databases.contains(where: { $0.id == Lake.databaseID }) {
            reader.report("databases.\(Lake.databaseID)", "the id '\(Lake.databaseID)' names the lake in queries (?db=lake); choose another, or set lake.enabled: false")
        }
        let served = databases.count + (lake.enabled ? 1 : 0)
        let budget = MemoryBudget(engine: engine, databases: served, sourceInstances: databases.filter { !$0.datasets.isEmpty }.count)
        if engine.memoryLimit.flatMap(MemorySize.bytes) != nil, !budget.isSufficient {
            let needed = MemoryBudget.minimumTotal(databases: served, sourceInstances: databases.filter { !$0.datasets.isEmpty }.count)
            reader.report("duckdb.memory_limit", "is shared by every DuckDB instance and too small for \(databases.count) databases\(lake.enabled ? " and the lake" : ""): at least \(needed >> 20)MiB (or set lake.enabled: false)")
        }
        let problems = reader.problems + environmentReader.problems
        guard problems.isEmpty else { throw ConfigurationError(problems: problems) }
        var configuration = DucklingConfiguration(server: server, engine: engine, query: query, automation: automation,
                                                  databases: databases, lake: lake, file: path)
        configuration.events = events
        configuration.lineage = lineage
        return configuration
    }

    private func readDocument(at path: String, reader: ConfigReader) -> Node? {
        guard let data = FileManager.default.contents(atPath: path) else {
            reader.report("", "cannot read the configuration file \(path)")
            return nil
        }
        do {
            return try Yams.compose(yaml: String(decoding: data, as: UTF8.self))
        } catch {
            reader.report("", "not valid YAML: \(error)")
            return nil
        }
    }

    /// `path` made absolute against `base` (with `~/` for the home directory), normalised.
    public static func absolute(_ path: String, base: String, home: String?) -> String {
        var expanded = path
        if expanded.hasPrefix("~/"), let home { expanded = home + expanded.dropFirst(1) }
        let joined = expanded.hasPrefix("/") ? expanded : base + "/" + expanded
        return (joined as NSString).standardizingPath
    }
}
