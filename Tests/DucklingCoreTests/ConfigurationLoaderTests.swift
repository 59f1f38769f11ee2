@testable import DucklingCore
import Foundation
import Testing

@Suite struct ConfigurationLoaderTests {
    /// Writes `yaml` to a temporary duckling.yaml and loads it with `environment`.
    private func load(_ yaml: String?, environment: [String: String] = [:], overrides: ConfigurationLoader.Overrides = .init()) throws -> DucklingConfiguration {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var file: String?
        if let yaml {
            file = directory + "/duckling.yaml"
            try yaml.write(toFile: directory + "/duckling.yaml", atomically: true, encoding: .utf8)
        }
        return try ConfigurationLoader(environment: environment, workingDirectory: directory).load(file: file, overrides: overrides)
    }

    private func problems(_ yaml: String, environment: [String: String] = [:]) -> [ConfigurationProblem] {
        do {
            _ = try load(yaml, environment: environment)
            return []
        } catch let error as ConfigurationError {
            return error.problems
        } catch {
            return [ConfigurationProblem(origin: "test", key: "", message: "unexpected \(error)")]
        }
    }

    @Test func withoutAFileTheDefaultDatabaseIsServed() throws {
        let configuration = try load(nil)
        #expect(configuration.server.host == "127.0.0.1")
        #expect(configuration.server.port == 3001)
        #expect(configuration.databases.map(\.id) == ["default"])
        #expect(configuration.databases[0].path.hasSuffix("/data/duckling-default.db"))
        #expect(configuration.automation == AutomationSettings())
        #expect(configuration.automation.syncIntervalSeconds == 900 && configuration.automation.maxRestartAttempts == 3)
    }

    @Test func aFullFileIsRead() throws {
        let configuration = try load("""
            server: { host: 0.0.0.0, port: 8080, data_dir: ./state, read_only_keys: [r1, r2] }
            duckdb: { memory_limit: 1GB, threads: 2, sync_workers: 3, sync_mode: manual }
            automation: { sync_interval_minutes: 5, auto_backup: false }
            databases:
              lms:
                path: db/lms.db
                sources:
                  shop: { url: "postgresql://reader:pw@localhost:5432/shop" }
                datasets:
                  orders:
                    source: shop
                    table: public.orders
                    primary_key: [id]
                    incremental_column: updated_at
                    lookback: 5m
                    delete_detection: primary_key_diff
                  monitoring:
                    source: shop
                    dataset_query: SELECT 1 AS dataset_id
                    results_query: SELECT 1 AS dataset_id, 'm' AS metric
                    primary_key: dataset_id
                    results_primary_key: [dataset_id, metric]
                    max_sync_rows: 2000000
                automation: { sync_interval_minutes: 1 }
                backup:
                  keep_last: 3
                  s3:
                    bucket_url: s3://my-bucket/duckling/
                    endpoint: http://127.0.0.1:9000
                    path_style: true
                    encryption: none
            """)
        #expect(configuration.server.port == 8080)
        #expect(configuration.server.dataDirectory.hasSuffix("/state"))
        #expect(configuration.server.readOnlyKeys.map(\.value) == ["r1", "r2"])
        #expect(configuration.engine.syncMode == .manual && configuration.engine.syncWorkers == 3)
        let lms = try #require(configuration.database("lms"))
        #expect(lms.path.hasSuffix("/db/lms.db"))
        #expect(lms.automation.syncIntervalSeconds == 60)
        #expect(lms.automation.autoBackup == false)
        #expect(configuration.database("default")?.automation.syncIntervalSeconds == 300)
        let orders = try #require(lms.dataset("orders"))
        #expect(orders.shape == .table("public.orders"))
        #expect(orders.lookbackSeconds == 300 && orders.deleteDetection == .primaryKeyDiff)
        let monitoring = try #require(lms.dataset("monitoring"))
        #expect(monitoring.primaryKey == ["dataset_id"] && monitoring.resultsPrimaryKey == ["dataset_id", "metric"])
        #expect(monitoring.maxSyncRows == 2_000_000)
        let s3 = try #require(lms.backup.s3)
        #expect(s3.bucket == "my-bucket" && s3.prefix == "duckling" && s3.pathStyle && s3.encryption == .none)
        #expect(lms.backup.keepLast == 3)
    }

    @Test func relativePathsFollowTheFileAndFlagsFollowTheWorkingDirectory() throws {
        let fromFile = try load("server: { data_dir: here }")
        #expect(fromFile.server.dataDirectory.hasSuffix("/here"))
        #expect(!fromFile.server.dataDirectory.contains("/../"))
        let fromFlag = try load("server: { data_dir: here }", overrides: .init(dataDirectory: "/srv/duckling"))
        #expect(fromFlag.server.dataDirectory == "/srv/duckling")
        #expect(fromFlag.databases[0].path == "/srv/duckling/duckling-default.db")
    }

    @Test func everyProblemIsReportedWithFileKeyAndReason() {
        let found = problems("""
            server:
              port: eighty
              hots: 0.0.0.0
            duckdb: { threads: 0, memory_limit: plenty }
            databases:
              lms:
                sources:
                  shop: { url: "postgresql://reader:${DB_PASSWORD}@db/shop" }
                datasets:
                  orders: { source: nowhere, table: orders, primary_ky: [id] }
            """)
        let text = found.map(\.description)
        #expect(found.count == 7, "\(text)")
        #expect(text.contains("duckling.yaml: duckdb.memory_limit: expected a size such as 4GB or 512MiB, got 'plenty'"))
        #expect(text.contains("duckling.yaml: server.port: expected a whole number, got 'eighty'"))
        #expect(text.contains("duckling.yaml: server.hots: unknown key (did you mean 'host'?)"))
        #expect(text.contains("duckling.yaml: duckdb.threads: must be between 1 and 1024, got 0"))
        #expect(text.contains { $0.contains("databases.lms.sources.shop.url: environment variable DB_PASSWORD is not set") })
        #expect(text.contains("duckling.yaml: databases.lms.datasets.orders.primary_ky: unknown key (did you mean 'primary_key'?)"))
        #expect(text.contains("duckling.yaml: databases.lms.datasets.orders.source: no source named 'nowhere' in this database"))
    }

    @Test func theEventSettingsAreReadAndChecked() throws {
        let configuration = try load("""
            events: { heartbeat: 5s, retry_ms: 1000, history_size: 50, client_queue_size: 20, max_clients: 7, ping_interval: 2m, inactivity_timeout: 90s, metrics_interval: 0 }
            """)
        let events = configuration.events
        #expect(events.heartbeatSeconds == 5 && events.retryMilliseconds == 1000 && events.historySize == 50)
        #expect(events.clientQueueSize == 20 && events.maxClients == 7 && events.pingSeconds == 120)
        #expect(events.inactivitySeconds == 90 && events.metricsSeconds == 0)
        #expect(try load(nil).events.heartbeatSeconds == 15)
        let text = problems("events: { client_queue_size: 0, heartbeat: never, histroy_size: 5 }").map(\.description)
        #expect(text.count == 3, "\(text)")
        #expect(text.contains("duckling.yaml: events.client_queue_size: must be between 1 and 1000000, got 0"), "\(text)")
        #expect(text.contains("duckling.yaml: events.histroy_size: unknown key (did you mean 'history_size'?)"), "\(text)")
    }

    @Test func theLineageSettingsComeFromTheFileAndOpenLineagesVariables() throws {
        let configuration = try load("""
            lineage: { namespace: analytics, url: "http://marquez:5000/", api_key: file-key, queue_size: 10, max_backoff: 2m, timeout: 5s }
            """)
        let lineage = configuration.lineage
        #expect(lineage.namespace == "analytics" && lineage.apiKey?.value == "file-key")
        #expect(lineage.queueSize == 10 && lineage.maxBackoffSeconds == 120 && lineage.timeoutSeconds == 5)
        #expect(lineage.forwardURL == "http://marquez:5000/api/v1/lineage")
        let fromEnvironment = try load(nil, environment: [
            "OPENLINEAGE_URL": "https://lineage.example", "OPENLINEAGE_ENDPOINT": "/v2/events", "OPENLINEAGE_API_KEY": "env-key",
            "OPENLINEAGE_NAMESPACE": "prod",
        ]).lineage
        #expect(fromEnvironment.forwardURL == "https://lineage.example/v2/events" && fromEnvironment.namespace == "prod")
        #expect(fromEnvironment.apiKey?.value == "env-key")
        #expect(try load(nil).lineage.forwardURL == nil)
        #expect(!ConfigurationSummary(try load("lineage: { url: 'http://x:1', api_key: very-secret-key }")).text.contains("very-secret-key"))
        let text = problems("lineage: { url: 'ftp://nowhere', queue_size: 0, namspace: x }").map(\.description)
        #expect(text.count == 3, "\(text)")
        #expect(text.contains { $0.contains("lineage.url: expected an http:// or https:// URL") }, "\(text)")
        #expect(text.contains("duckling.yaml: lineage.namspace: unknown key (did you mean 'namespace'?)"), "\(text)")
    }

    @Test func datasetsAreChecked() {
        let found = problems("""
            databases:
              lms:
                sources: { shop: "postgresql://u@h/db" }
                datasets:
                  a: { source: shop }
                  b: { source: shop, table: t, dataset_query: "SELECT 1" }
                  c: { source: missing, table: t }
                  d: { source: shop, table: t, lookback: 5m, incremental_column: ts }
                  e: { source: shop, table: t, delete_detection: primary_key_diff }
                  f: { source: shop, table: "bad name" }
                  "g-h": { source: shop, table: t }
                  i: { source: shop, table: t, delete_detection: sometimes }
                  j: { source: shop, table: t, incremental_column: ts, max_sync_rows: 10 }
                  k: { source: shop, dataset_query: "SELECT 1", results_query: "SELECT 1", primary_key: [id], incremental_column: ts, max_sync_rows: 10 }
            """).map(\.description)
        #expect(found.contains { $0.contains("datasets.a: a dataset needs a table, or a dataset_query and a results_query") })
        #expect(found.contains { $0.contains("datasets.b: give either table, or both dataset_query and results_query") })
        #expect(found.contains { $0.contains("datasets.c.source: no source named 'missing'") })
        #expect(found.contains { $0.contains("datasets.d.lookback: needs a primary_key") })
        #expect(found.contains { $0.contains("datasets.e.delete_detection: primary_key_diff needs a primary_key") })
        #expect(found.contains { $0.contains("datasets.f.table: expected a table name") })
        #expect(found.contains { $0.contains("datasets.g-h: dataset names may use letters") })
        #expect(found.contains { $0.contains("datasets.i.delete_detection: expected one of 'none', 'primary_key_diff', got 'sometimes'") })
        // A capped incremental run continues after the last (value, key): it needs the key.
        #expect(found.contains { $0.contains("datasets.j.max_sync_rows: needs a primary_key") })
        #expect(found.contains { $0.contains("datasets.k.max_sync_rows: needs a results_primary_key") })
        #expect(found.count == 10, "\(found)")
    }

    @Test func variablesExpandWithDefaults() throws {
        let configuration = try load("""
            server: { port: "${PORT}", host: "${HOST:-127.0.0.2}", api_key: "$${literal}" }
            """, environment: ["PORT": "4000"])
        #expect(configuration.server.port == 4000)
        #expect(configuration.server.host == "127.0.0.2")
        #expect(configuration.server.apiKey?.value == "${literal}")
    }

    @Test func theEnvironmentOverridesTheFile() throws {
        let configuration = try load("automation: { sync_interval_minutes: 30, auto_backup: true }", environment: [
            "SYNC_INTERVAL_MINUTES": "7", "AUTO_BACKUP": "false", "DUCKDB_WORKER_THREADS": "3",
            "DUCKDB_MEMORY_LIMIT": "3GB", "DUCKLING_API_KEY": "from-env", "MAX_RESTART_ATTEMPTS": "9",
        ])
        #expect(configuration.automation.syncIntervalSeconds == 420)
        #expect(configuration.automation.autoBackup == false)
        #expect(configuration.automation.maxRestartAttempts == 9)
        #expect(configuration.engine.threads == 3 && configuration.engine.memoryLimit == "3GB")
        #expect(configuration.server.apiKey?.value == "from-env")
    }

    @Test func badEnvironmentValuesAreReportedWithTheVariable() {
        let found = problems("", environment: ["SYNC_INTERVAL_MINUTES": "soon", "AUTO_BACKUP": "maybe"]).map(\.description)
        #expect(found.contains("environment: SYNC_INTERVAL_MINUTES: expected a whole number, got 'soon'"))
        #expect(found.contains("environment: AUTO_BACKUP: expected true or false, got 'maybe'"))
    }

    @Test func invalidYAMLIsAProblemNotACrash() {
        let found = problems("server: [unclosed").map(\.description)
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("duckling.yaml: not valid YAML") == true)
    }

    @Test func encryptedS3BackupsNeedAKey() {
        let yaml = """
            databases:
              lms:
                backup: { s3: { bucket_url: "s3://bucket/p", endpoint: "http://127.0.0.1:9000" } }
            """
        #expect(problems(yaml).map(\.description).contains { $0.contains("s3.encryption: client-aes256 needs DUCKLING_BACKUP_KEY") })
        #expect(problems(yaml, environment: ["DUCKLING_BACKUP_KEY": "c2hvcnQ="]).map(\.description)
            .contains { $0.contains("must be 32 random bytes in base64") })
        let key = Data((0..<32).map { UInt8($0) }).base64EncodedString()
        #expect(problems(yaml, environment: ["DUCKLING_BACKUP_KEY": key]).isEmpty)
    }

    @Test func twoDatabasesCannotShareAFile() {
        let found = problems("databases:\n  a: { path: same.db }\n  b: { path: same.db }").map(\.description)
        #expect(found.contains { $0.contains("databases.b.path") && $0.contains("already the file of database 'a'") })
    }

    @Test func theSummaryMasksEverySecret() throws {
        let configuration = try load("""
            server: { api_key: top-secret-admin }
            databases:
              lms:
                sources: { shop: { url: "postgresql://reader:hunter2@db:5432/shop?password=hunter3" } }
                backup: { s3: { bucket_url: "s3://backups/p", access_key: AKIAEXAMPLE, secret_key: s3cr3t, encryption: none } }
            """)
        let text = ConfigurationSummary(configuration).text
        for secret in ["top-secret-admin", "hunter2", "hunter3", "s3cr3t", "AKIAEXAMPLE"] {
            #expect(!text.contains(secret), "\(secret) shown")
        }
        #expect(text.contains("postgresql://reader:••••••@db:5432/shop?password=••••••"))
        #expect(String(describing: configuration.server.apiKey) .contains("••••••"))
    }
}
