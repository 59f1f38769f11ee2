import DuckDBKit
import DucklingCore
import Foundation
import Hummingbird
import ObjectStorage

/// The lake's tables (DESIGN.md §9, seed paths): create, list, describe, append, alter, drop,
/// query with time travel, snapshots, the change feed, maintenance and imports from buckets.
struct LakeController {
    let lake: Lake
    let queries: QueryService
    let datasets: DatasetStore?
    let maxBodyBytes: Int

    func addRoutes(to routes: RouteTable) {
        let reads = routes.group("/tables", .read, scope: .lake)
        reads.get { request, context in
            try await lakeCall { try await TableListResponse(tables: lake.tables()).response(from: request, context: context) }
        }
        reads.get("/:name") { request, context in
            try await lakeCall { try await TableResponse(table: lake.describe(name(context))).response(from: request, context: context) }
        }
        reads.get("/:name/snapshots") { request, context in
            try await lakeCall {
                let table = try name(context)
                return try await SnapshotListResponse(table: table, snapshots: lake.snapshots(of: table)).response(from: request, context: context)
            }
        }
        reads.post("/:name/query") { request, context in try await query(request, context: context) }
        reads.get("/:name/changes") { request, context in try await changes(request, context: context) }

        let writes = routes.group("/tables", .write, scope: .lake)
        writes.post { request, context in
            let definition = try await RequestBodyReader.decode(TableDefinition.self, from: request, context: context, limit: maxBodyBytes)
            return try await lakeCall {
                try await TableResponse(table: lake.createTable(definition, author: author(context)))
                    .response(from: request, context: context).with(status: .created)
            }
        }
        writes.put("/:name") { request, context in try await append(request, context: context) }
        writes.patch("/:name") { request, context in
            let body = try await RequestBodyReader.decode(SchemaChangeBody.self, from: request, context: context, limit: maxBodyBytes)
            return try await lakeCall {
                try await TableResponse(table: lake.alterTable(name(context), changes: body.changes, author: author(context)))
                    .response(from: request, context: context)
            }
        }
        writes.delete("/:name") { request, context in
            try await lakeCall {
                let table = try name(context)
                return try await TableDropResponse(table: table, snapshotID: lake.dropTable(table, author: author(context)))
                    .response(from: request, context: context)
            }
        }
        writes.post("/:name/maintenance") { request, context in
            try await lakeCall {
                let reports = try await lake.maintain(name(context))
                guard let report = reports.first else { throw LakeError(.engine, code: "lake_error", message: "maintenance reported nothing") }
                return try MaintenanceResponse(maintenance: report).response(from: request, context: context)
            }
        }
        writes.post("/:name/delete") { request, context in
            let body = try await RequestBodyReader.decode(DeleteRowsBody.self, from: request, context: context, limit: maxBodyBytes)
            return try await lakeCall {
                try await AppendResponse(append: lake.deleteRows(name(context), filter: body.filter, author: author(context)))
                    .response(from: request, context: context)
            }
        }
        writes.post("/:name/import") { request, context in try await importObject(request, context: context) }
    }

    private func name(_ context: DucklingRequestContext) throws -> String {
        try context.parameters.require("name")
    }

    /// Who made a change, for the snapshot's author.
    private func author(_ context: DucklingRequestContext) -> String {
        guard let principal = context.principal else { return "duckling" }
        return principal.database.map { "duckling (key for database \($0))" } ?? "duckling (\(principal.role.rawValue) key)"
    }

    /// Runs lake work, answering its ``LakeError``s in the API's shape.
    private func lakeCall(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let error as LakeError {
            throw APIError(error)
        }
    }

    /// `PUT /tables/{name}`: the body, streamed to a file, appended in one snapshot.
    private func append(_ request: Request, context: DucklingRequestContext) async throws -> Response {
        let table = try name(context)
        guard let format = AppendFormat(contentType: request.headers[.contentType]) else {
            throw APIError(.unsupportedMediaType, code: "unsupported_format",
                           message: "send the rows as application/json (an array of objects), application/x-ndjson, text/csv (with a header) or application/vnd.apache.parquet")
        }
        // Refused before the body is read: a table that does not exist.
        _ = try await lakeCall { try await TableResponse(table: lake.describe(table)).response(from: request, context: context) }
        let file = lake.uploadFile(extension: format.rawValue)
        defer { BlockingIO.removeInBackground(file) }
        _ = try await RequestBodyReader.write(request, to: file, context: context, limit: lake.settings.maxAppendBytes)
        // The body's buffers are free now; give them back before DuckDB reads the file.
        await BlockingIO.run { _ = returnFreeMemory(0) }
        return try await lakeCall {
            try await AppendResponse(append: lake.append(table, file: file, format: format, author: author(context)))
                .response(from: request, context: context)
        }
    }

    /// `POST /tables/{name}/import {bucket, object}`: a bucket's object appended without passing through the client.
    private func importObject(_ request: Request, context: DucklingRequestContext) async throws -> Response {
        let table = try name(context)
        let body = try await RequestBodyReader.decode(ImportBody.self, from: request, context: context, limit: maxBodyBytes)
        guard let datasets else { throw APIError(.serviceUnavailable, code: "datasets_unavailable", message: "the dataset store is not configured") }
        return try await lakeCall {
            guard let format = body.format.map({ AppendFormat(rawValue: $0.lowercased()) }) ?? AppendFormat(fileName: body.object) else {
                throw LakeError(.invalidRequest, code: "unsupported_format", message: "give format (csv, parquet, json or ndjson): the object's name does not say")
            }
            let (file, _, temporary) = try await datasets.localFile(body.bucket, body.object)
            // The lake's instance reads only its upload directory: the object goes there (a hard
            // link to a local object, or the downloaded copy moved in).
            let readable = lake.uploadFile(extension: format.rawValue)
            defer { BlockingIO.removeInBackground(readable) }
            try await BlockingIO.run {
                if temporary {
                    defer { BlockingIO.removeInBackground(file) }
                    try FileManager.default.moveItem(at: file, to: readable)
                } else if (try? FileManager.default.linkItem(at: file, to: readable)) == nil {
                    try FileManager.default.copyItem(at: file, to: readable)
                }
            }
            return try await AppendResponse(append: lake.append(table, file: readable, format: format, author: author(context),
                                                                source: "\(body.bucket)/\(body.object)",
                                                                imported: lake.reporter.datasetObject(bucket: body.bucket, key: body.object)))
                .response(from: request, context: context)
        }
    }

    /// `POST /tables/{name}/query`: caller SQL over the lake, or the structured form with `?snapshot=` or `?as_of=`.
    private func query(_ request: Request, context: DucklingRequestContext) async throws -> Response {
        let table = try name(context)
        let body = try await RequestBodyReader.decode(TableQueryBody.self, from: request, context: context, limit: maxBodyBytes)
        let sql: String
        do {
            let version = try LakeQuery.version(snapshot: request.uri.queryParameters.get("snapshot"), asOf: request.uri.queryParameters.get("as_of"))
            if let text = body.sql {
                guard version == .current else {
                    throw LakeError.invalid("invalid_version", "snapshot and as_of apply to the structured form; in SQL write AT (VERSION => n) after the table")
                }
                guard body.columns == nil, body.filter == nil, body.orderBy == nil, body.limit == nil else {
                    throw LakeError.invalid("invalid_request", "give sql, or columns/filter/order_by/limit, not both")
                }
                sql = text
            } else {
                sql = try LakeQuery.select(table: table, columns: body.columns, filter: body.filter, orderBy: body.orderBy, limit: body.limit, version: version)
            }
        } catch let error as LakeError {
            throw APIError(error)
        }
        _ = try await lakeCall { try await TableResponse(table: lake.describe(table)).response(from: request, context: context) }
        let queryRequest = QueryRequest(sql: sql, parameters: QueryRequestBody.Parameters.values(body.params), timeoutMilliseconds: body.timeoutMilliseconds)
        return try await QueryController.run(queryRequest, database: Lake.databaseID, request: request, context: context, queries: queries)
    }

    /// `GET /tables/{name}/changes?from=&to=`: DuckLake's change feed, in the negotiated format.
    private func changes(_ request: Request, context: DucklingRequestContext) async throws -> Response {
        let table = try name(context)
        let sql: String
        do {
            guard let from = request.uri.queryParameters.get("from").flatMap({ Int64($0) }) else {
                throw LakeError.invalid("invalid_range", "give from (a snapshot id), and optionally to")
            }
            let to: Int64
            if let text = request.uri.queryParameters.get("to") {
                guard let value = Int64(text) else { throw LakeError.invalid("invalid_range", "to must be a snapshot id") }
                to = value
            } else {
                to = try await lake.describe(table).snapshotID
            }
            sql = try LakeQuery.changes(table: table, from: from, to: to)
            _ = try await lake.describe(table)
        } catch let error as LakeError {
            throw APIError(error)
        }
        return try await QueryController.run(QueryRequest(sql: sql), database: Lake.databaseID, request: request, context: context, queries: queries)
    }
}

/// glibc's `malloc_trim`: hands the heap's free pages back to the system (not exported by the Glibc module).
@_silgen_name("malloc_trim")
private func returnFreeMemory(_ pad: Int) -> Int32
