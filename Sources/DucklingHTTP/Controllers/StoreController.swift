import DuckDBKit
import DucklingCore
import Foundation
import Hummingbird

/// The sync API (DESIGN.md §5, the sync runbook's paths): start syncs, see their state, reset
/// watermarks, and page through a synced dataset.
struct StoreController {
    let scheduler: SyncScheduler
    let queries: QueryService

    func addRoutes(to routes: RouteTable) {
        let changes = routes.group("/api/store", .write)
        changes.post("/sync") { request, context in try await syncAll(request, context: context) }
        changes.post("/sync/:dataset") { request, context in try await sync(request, context: context) }
        changes.post("/sync/:dataset/reset-watermark") { request, context in try await resetWatermark(request, context: context) }
        let reads = routes.group("/api/store", .read)
        reads.get("/status") { request, context in try status(request, context: context) }
        reads.get("/data/:dataset") { request, context in try await data(request, context: context) }
    }

    private func engine(_ request: Request, context: DucklingRequestContext) throws -> SyncEngine {
        let databaseID = try context.database()
        guard let engine = scheduler.engine(for: databaseID) else {
            throw APIError.notFound("database_not_found", "no database with id '\(databaseID)'")
        }
        return engine
    }

    private func flag(_ request: Request, _ name: String) -> Bool {
        request.uri.queryParameters.get(name).map { ["true", "1", "yes"].contains($0.lowercased()) } ?? false
    }

    private func sync(_ request: Request, context: DucklingRequestContext) async throws -> Response {
        let engine = try engine(request, context: context)
        let dataset = try context.parameters.require("dataset")
        let full = flag(request, "full")
        let claim: SyncClaim
        do {
            claim = try engine.claim(dataset, full: full, trigger: .api)
        } catch let error as SyncError {
            throw APIError(error)
        }
        scheduler.submit(claim)
        guard flag(request, "wait") else {
            return try SyncStartResponse(success: true, message: "sync of '\(dataset)' started",
                                         run: StartedRun(dataset: dataset, runID: claim.runID, full: full))
                .response(from: request, context: context).with(status: .accepted)
        }
        let result = await claim.result()
        let response = SyncStartResponse(success: result.status == .succeeded, message: result.error ?? "sync of '\(dataset)' \(result.status.rawValue)", result: result)
        return try response.response(from: request, context: context).with(status: result.status == .succeeded ? .ok : .internalServerError)
    }

    private func syncAll(_ request: Request, context: DucklingRequestContext) async throws -> Response {
        let engine = try engine(request, context: context)
        let full = flag(request, "full")
        var started: [(SyncClaim, StartedRun)] = []
        var running: [StartedRun] = []
        for dataset in engine.database.settings.datasets {
            do {
                let claim = try engine.claim(dataset.name, full: full, trigger: .api)
                scheduler.submit(claim)
                started.append((claim, StartedRun(dataset: dataset.name, runID: claim.runID, full: full)))
            } catch SyncError.alreadyRunning(let name, let runID) {
                running.append(StartedRun(dataset: name, runID: runID, full: false))
            }
        }
        if started.isEmpty && !running.isEmpty {
            throw APIError(.conflict, code: "sync_running", message: "every dataset is already syncing", runID: running.first?.runID)
        }
        var response = SyncAllResponse(success: true, started: started.map(\.1), running: running)
        guard flag(request, "wait") else {
            return try response.response(from: request, context: context).with(status: .accepted)
        }
        var results: [SyncRunResult] = []
        for (claim, _) in started { results.append(await claim.result()) }
        response.results = results
        let succeeded = results.allSatisfy { $0.status == .succeeded }
        return try SyncAllResponse(success: succeeded, started: response.started, running: running, results: results)
            .response(from: request, context: context).with(status: succeeded ? .ok : .internalServerError)
    }

    private func resetWatermark(_ request: Request, context: DucklingRequestContext) async throws -> MessageResponse {
        let engine = try engine(request, context: context)
        let dataset = try context.parameters.require("dataset")
        do {
            try await engine.resetWatermark(dataset)
        } catch let error as SyncError {
            throw APIError(error)
        }
        return MessageResponse(success: true, message: "watermarks of '\(dataset)' cleared; its next sync is a full rebuild")
    }

    private func status(_ request: Request, context: DucklingRequestContext) throws -> StoreStatusResponse {
        let engine = try engine(request, context: context)
        return StoreStatusResponse(database: engine.database.id, datasets: engine.status())
    }

    /// `GET /api/store/data/{dataset}?limit=&offset=&sort=col,-col&filter[col]=value`: columns are
    /// checked against the dataset's own columns; values are bound, never pasted into SQL.
    private func data(_ request: Request, context: DucklingRequestContext) async throws -> Response {
        let engine = try engine(request, context: context)
        let name = try context.parameters.require("dataset")
        guard engine.database.settings.dataset(name) != nil else {
            throw APIError.notFound("dataset_not_found", "no dataset named '\(name)'")
        }
        let parameters = request.uri.queryParameters
        let limit = try bounded(parameters.get("limit"), name: "limit", default: 100, range: 1...10_000)
        let offset = try bounded(parameters.get("offset"), name: "offset", default: 0, range: 0...Int(Int32.max))
        let columns: [Column]
        do {
            columns = try await queries.columns(of: name, database: engine.database.id)
        } catch let error as QueryError {
            throw error.code == "invalid_sql"
                ? APIError.notFound("dataset_not_synced", "dataset '\(name)' has not been synced yet")
                : APIError(error)
        }
        var conditions: [String] = []
        var values: [DuckDBValue] = []
        for (rawKey, value) in parameters {
            // Clients percent-encode the brackets: filter%5Bcol%5D.
            let key = String(rawKey).removingPercentEncoding ?? String(rawKey)
            guard key.hasPrefix("filter[") && key.hasSuffix("]") else { continue }
            let column = String(key.dropFirst("filter[".count).dropLast())
            guard let type = columns.first(where: { $0.name == column })?.type else {
                throw APIError.badRequest("unknown_column", "'\(column)' is not a column of \(name) (columns: \(columns.map(\.name).joined(separator: ", ")))")
            }
            values.append(.varchar(String(value)))
            conditions.append("\(SQL.quoted(column)) = CAST($\(values.count) AS \(type.sqlName))")
        }
        var order: [String] = []
        for item in (parameters.get("sort") ?? "").split(separator: ",") {
            let descending = item.hasPrefix("-")
            let column = String(descending ? item.dropFirst() : item)
            guard columns.contains(where: { $0.name == column }) else {
                throw APIError.badRequest("unknown_column", "cannot sort by '\(column)': not a column of \(name)")
            }
            order.append("\(SQL.quoted(column)) \(descending ? "DESC" : "ASC")")
        }
        var sql = "SELECT * FROM main.\(SQL.quoted(name))"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        if !order.isEmpty { sql += " ORDER BY " + order.joined(separator: ", ") }
        sql += " LIMIT \(limit) OFFSET \(offset)"
        let format = try QueryController.format(of: request)
        do {
            let stream = try await queries.start(QueryRequest(sql: sql, parameters: values.isEmpty ? .none : .positional(values)),
                                                 database: engine.database.id, format: format)
            return try QueryController.response(streaming: stream, format: format, watch: nil)
        } catch let error as QueryError {
            throw APIError(error)
        }
    }

    private func bounded(_ text: String?, name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw APIError.badRequest("invalid_parameter", "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }
}

extension APIError {
    init(_ error: SyncError) {
        switch error {
        case .unknownDataset(let name):
            self.init(.notFound, code: "dataset_not_found", message: "no dataset named '\(name)'")
        case .alreadyRunning(let dataset, let runID):
            self.init(.conflict, code: "sync_running", message: "dataset '\(dataset)' is already syncing (run \(runID))", runID: runID)
        case .paused:
            self.init(.serviceUnavailable, code: "sync_paused", message: error.description, headers: [.retryAfter: "5"])
        default:
            self.init(.internalServerError, code: "sync_failed", message: error.description)
        }
    }
}

extension Response {
    func with(status: HTTPResponse.Status) -> Response {
        var response = self
        response.status = status
        return response
    }
}
