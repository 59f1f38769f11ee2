import Foundation

/// A lake table's column as created or described.
public struct LakeColumn: Sendable, Codable, Equatable {
    public var name: String
    /// A DuckDB type (`INTEGER`, `DECIMAL(18,3)`, `STRUCT(a INTEGER, b VARCHAR[])`, …).
    public var type: String
    public var nullable: Bool

    public init(name: String, type: String, nullable: Bool = true) {
        self.name = name
        self.type = type
        self.nullable = nullable
    }

    enum CodingKeys: String, CodingKey { case name, type, nullable }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.name = try container.decode(String.self, forKey: .name)
        self.type = try container.decode(String.self, forKey: .type)
        self.nullable = try container.decodeIfPresent(Bool.self, forKey: .nullable) ?? true
    }
}

/// `POST /tables`: a table to create.
public struct TableDefinition: Sendable, Codable {
    public var name: String
    public var columns: [LakeColumn]
    /// Partition keys: column names, or `year(c)`, `month(c)`, `day(c)`, `hour(c)`.
    public var partitionBy: [String]?

    public init(name: String, columns: [LakeColumn], partitionBy: [String]? = nil) {
        self.name = name
        self.columns = columns
        self.partitionBy = partitionBy
    }

    enum CodingKeys: String, CodingKey {
        case name, columns
        case partitionBy = "partition_by"
    }
}

/// One change of `PATCH /tables/{name}`; none rewrites data files.
public enum SchemaChange: Sendable, Codable, Equatable {
    case addColumn(LakeColumn)
    case renameColumn(from: String, to: String)
    case dropColumn(String)
    /// Widens a column's type (`INTEGER` → `BIGINT`, `FLOAT` → `DOUBLE`, …); DuckLake refuses narrowing.
    case setType(column: String, type: String)

    enum CodingKeys: String, CodingKey { case op, column, name, type, nullable, to }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let op = try container.decode(String.self, forKey: .op)
        switch op {
        case "add_column":
            self = .addColumn(LakeColumn(name: try container.decode(String.self, forKey: .column),
                                         type: try container.decode(String.self, forKey: .type),
                                         nullable: try container.decodeIfPresent(Bool.self, forKey: .nullable) ?? true))
        case "rename_column":
            self = .renameColumn(from: try container.decode(String.self, forKey: .column), to: try container.decode(String.self, forKey: .to))
        case "drop_column":
            self = .dropColumn(try container.decode(String.self, forKey: .column))
        case "set_type":
            self = .setType(column: try container.decode(String.self, forKey: .column), type: try container.decode(String.self, forKey: .type))
        default:
            throw DecodingError.dataCorruptedError(forKey: .op, in: container,
                                                   debugDescription: "expected add_column, rename_column, drop_column or set_type, got '\(op)'")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .addColumn(let column):
            try container.encode("add_column", forKey: .op)
            try container.encode(column.name, forKey: .column)
            try container.encode(column.type, forKey: .type)
            try container.encode(column.nullable, forKey: .nullable)
        case .renameColumn(let from, let to):
            try container.encode("rename_column", forKey: .op)
            try container.encode(from, forKey: .column)
            try container.encode(to, forKey: .to)
        case .dropColumn(let column):
            try container.encode("drop_column", forKey: .op)
            try container.encode(column, forKey: .column)
        case .setType(let column, let type):
            try container.encode("set_type", forKey: .op)
            try container.encode(column, forKey: .column)
            try container.encode(type, forKey: .type)
        }
    }
}

/// A lake table as `GET /tables` and `GET /tables/{name}` show it.
public struct TableSummary: Sendable, Codable, Equatable {
    public let name: String
    public let columns: [LakeColumn]
    public let rowCount: Int64
    /// The lake's current snapshot when this was read.
    public let snapshotID: Int64
    public let dataFiles: Int64
    public let dataBytes: Int64
    public let deleteFiles: Int64

    enum CodingKeys: String, CodingKey {
        case name, columns
        case rowCount = "row_count"
        case snapshotID = "snapshot_id"
        case dataFiles = "data_files"
        case dataBytes = "data_bytes"
        case deleteFiles = "delete_files"
    }
}

/// One lake snapshot as `GET /tables/{name}/snapshots` lists it.
public struct SnapshotInfo: Sendable, Codable, Equatable {
    public let id: Int64
    /// ISO 8601, UTC.
    public let time: String
    /// DuckLake's change list: `tables_created`, `tables_inserted_into`, `inlined_insert`, …
    public let changes: [String: [String]]
    public let author: String?
    public let commitMessage: String?

    enum CodingKeys: String, CodingKey {
        case id, time, changes, author
        case commitMessage = "commit_message"
    }
}

/// The format of an append's body.
public enum AppendFormat: String, Sendable, CaseIterable {
    case json, ndjson, csv, parquet

    /// The format a `Content-Type` names, or nil.
    public init?(contentType: String?) {
        let type = contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        switch type {
        case "application/json": self = .json
        case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines": self = .ndjson
        case "text/csv": self = .csv
        case "application/vnd.apache.parquet", "application/parquet", "application/x-parquet": self = .parquet
        default: return nil
        }
    }

    /// The format an object's name suggests (`.csv`, `.parquet`, `.json`, `.ndjson`/`.jsonl`).
    public init?(fileName: String) {
        let name = fileName.lowercased()
        if name.hasSuffix(".csv") { self = .csv }
        else if name.hasSuffix(".parquet") { self = .parquet }
        else if name.hasSuffix(".ndjson") || name.hasSuffix(".jsonl") { self = .ndjson }
        else if name.hasSuffix(".json") { self = .json }
        else { return nil }
    }
}

/// What one append did: the rows it added, in one snapshot.
public struct AppendResult: Sendable, Codable, Equatable {
    public let table: String
    public let rows: Int64
    public let snapshotID: Int64

    enum CodingKeys: String, CodingKey {
        case table, rows
        case snapshotID = "snapshot_id"
    }
}

/// Files and bytes of a table before and after maintenance, and the snapshots expired.
public struct MaintenanceReport: Sendable, Codable, Equatable {
    public struct Files: Sendable, Codable, Equatable {
        public let files: Int64
        public let bytes: Int64
    }

    public let table: String
    public let before: Files
    public let after: Files
    public let snapshotsExpired: Int
    public let filesDeleted: Int

    enum CodingKeys: String, CodingKey {
        case table, before, after
        case snapshotsExpired = "snapshots_expired"
        case filesDeleted = "files_deleted"
    }
}
