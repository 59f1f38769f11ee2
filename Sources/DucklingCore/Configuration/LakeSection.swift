import Foundation
import Yams

/// Reads the `lake:` section of `duckling.yaml` and its environment overrides.
struct LakeSection {
    static let keys = ["enabled", "catalog", "metadata_schema", "data_path", "datasets", "s3", "snapshot_max_age", "max_append_bytes", "data_inlining_row_limit", "parquet_row_group_size"]

    let reader: ConfigReader
    let fileDirectory: String
    let dataDirectory: String
    let home: String?

    func parse(_ node: Node?, environment: [String: String]) -> LakeSettings {
        var lake = LakeSettings(dataDirectory: dataDirectory)
        let table = reader.table(node, at: "lake", allowed: Self.keys)
        var catalog = table.flatMap { reader.string($0, "catalog") }
        var dataPath = table.flatMap { reader.string($0, "data_path") }
        var datasets = table.flatMap { reader.string($0, "datasets") }
        if let table {
            if let enabled = reader.bool(table, "enabled") { lake.enabled = enabled }
            if let schema = reader.string(table, "metadata_schema") {
                if Names.isValidName(schema) { lake.metadataSchema = schema } else {
                    reader.report(table.path("metadata_schema"), "expected a name of letters, digits and _")
                }
            }
            if let seconds = reader.interval(table, "snapshot_max_age", unit: 1, in: 1...AutomationKeys.year * 10) {
                lake.snapshotMaxAgeSeconds = seconds
            }
            if let rows = reader.int(table, "parquet_row_group_size", in: 2048...10_000_000) { lake.parquetRowGroupSize = rows }
            lake.dataInliningRowLimit = reader.int(table, "data_inlining_row_limit", in: 0...1_000_000)
            if let size = reader.string(table, "max_append_bytes") {
                if let bytes = MemorySize.bytes(size), bytes >= 1024 { lake.maxAppendBytes = Int64(bytes) } else {
                    reader.report(table.path("max_append_bytes"), "expected a size such as 4GB or 512MiB, got '\(size)'")
                }
            }
        }
        // The environment wins over the file.
        if let value = environment["DUCKLING_LAKE_ENABLED"], !value.isEmpty,
           let enabled = reader.parseBool(value, key: "DUCKLING_LAKE_ENABLED") { lake.enabled = enabled }
        if let value = environment["DUCKLING_LAKE_CATALOG"], !value.isEmpty { catalog = value }
        if let value = environment["DUCKLING_LAKE_DATA_PATH"], !value.isEmpty { dataPath = value }
        if let value = environment["DUCKLING_LAKE_DATASETS"], !value.isEmpty { datasets = value }

        if let catalog {
            if catalog.hasPrefix("postgresql://") || catalog.hasPrefix("postgres://") {
                lake.catalog = .postgres(Secret(catalog))
            } else if catalog.contains("://") {
                reader.report("lake.catalog", "expected a file path or a postgresql:// URL")
            } else {
                lake.catalog = .file(resolve(catalog))
            }
        }
        let s3Table = table.flatMap { reader.table($0["s3"], at: $0.path("s3"), allowed: ["endpoint", "region", "access_key", "secret_key", "session_token", "path_style"]) }
        func location(_ text: String?, key: String, default value: LakeSettings.Location) -> LakeSettings.Location {
            guard let text else { return value }
            guard text.hasPrefix("s3://") else { return .directory(resolve(text) + "/") }
            guard let s3 = reader.s3Connection(s3Table ?? ConfigReader.Table(path: "lake.s3", entries: []), bucketURL: text, at: key) else { return value }
            if lake.s3 == nil { lake.s3 = s3 }
            return .s3(bucket: s3.bucket, prefix: s3.prefix)
        }
        lake.dataPath = location(dataPath, key: "lake.data_path", default: lake.dataPath)
        lake.datasets = location(datasets, key: "lake.datasets", default: lake.datasets)
        return lake
    }

    private func resolve(_ path: String) -> String {
        ConfigurationLoader.absolute(path, base: fileDirectory, home: home)
    }
}
