import DucklingCore
import Hummingbird

/// `GET /tables`.
struct TableListResponse: ResponseEncodable {
    let success = true
    let tables: [TableSummary]
}

/// `POST /tables`, `GET /tables/{name}`, `PATCH /tables/{name}`.
struct TableResponse: ResponseEncodable {
    let success = true
    let table: TableSummary
}

/// `PUT /tables/{name}` and `POST /tables/{name}/import`.
struct AppendResponse: ResponseEncodable {
    let success = true
    let append: AppendResult
}

/// `DELETE /tables/{name}`.
struct TableDropResponse: ResponseEncodable {
    let success = true
    let table: String
    let snapshotID: Int64

    enum CodingKeys: String, CodingKey {
        case success, table
        case snapshotID = "snapshot_id"
    }
}

/// `GET /tables/{name}/snapshots`.
struct SnapshotListResponse: ResponseEncodable {
    let success = true
    let table: String
    let snapshots: [SnapshotInfo]
}

/// `POST /tables/{name}/maintenance`.
struct MaintenanceResponse: ResponseEncodable {
    let success = true
    let maintenance: MaintenanceReport
}

/// `PATCH /tables/{name}`.
struct SchemaChangeBody: Decodable {
    let changes: [SchemaChange]
}

/// `POST /tables/{name}/import`.
struct ImportBody: Decodable {
    let bucket: String
    let object: String
    /// csv, parquet, json or ndjson; by default from the object's name.
    let format: String?
}

/// `POST /tables/{name}/query`: SQL, or the structured form.
struct TableQueryBody: Decodable {
    let sql: String?
    let params: QueryRequestBody.Parameters?
    let columns: [String]?
    let filter: String?
    let orderBy: [String]?
    let limit: Int?
    let timeoutMilliseconds: Int?

    enum CodingKeys: String, CodingKey {
        case sql, params, columns, filter, limit
        case orderBy = "order_by"
        case timeoutMilliseconds = "timeout_ms"
    }
}

/// `POST /datasets/{bucket}` and `DELETE /datasets/{bucket}`.
struct BucketResponse: ResponseEncodable {
    let success = true
    let bucket: String
    var deletedObjects: Int?

    enum CodingKeys: String, CodingKey {
        case success, bucket
        case deletedObjects = "deleted_objects"
    }
}

/// `GET /datasets/{bucket}`.
struct BucketListingResponse: ResponseEncodable {
    let success = true
    let bucket: String
    let objects: [DatasetStore.Object]
    let next: String?
}

/// `PUT /datasets/{bucket}/{object}`, `DELETE` of one.
struct ObjectResponse: ResponseEncodable {
    let success = true
    let bucket: String
    let object: DatasetStore.Object
}

/// `POST /tables/{name}/delete`: the rows to delete, as a SQL boolean expression.
struct DeleteRowsBody: Decodable {
    let filter: String
}
