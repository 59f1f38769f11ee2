import DucklingCore
import Foundation
import Hummingbird

/// Backups and restores (DESIGN.md §7, the seed's paths): `/automation/backup`, `/automation/restore`,
/// `/api/backups`, `/api/backups/s3`, `/api/backups/s3/restore`, `/api/backups/verify`, all with `?db=`.
struct BackupController {
    let backups: [String: BackupService]
    let setupErrors: [String: String]
    let registry: DatabaseRegistry
    /// Manual backups are recorded as runs of the automation's backup tasks.
    let automation: [String: AutomationService]
    static let maxBodyBytes = 16 << 10

    func addRoutes(to routes: RouteTable) {
        let automation = routes.group("/automation", .write)
        automation.post("/backup") { request, context in try await backup(request, context: context) }
        automation.post("/restore") { request, context in try await restoreLocal(request, context: context) }
        routes.group("/api/backups", .read).get { request, context in try await list(request, context: context) }
        let changes = routes.group("/api/backups", .write)
        changes.post("/s3") { request, context in try await uploadS3(request, context: context) }
        changes.post("/s3/restore") { request, context in try await restoreS3(request, context: context) }
        changes.post("/verify") { request, context in try await verify(request, context: context) }
    }

    private func service(_ request: Request, context: DucklingRequestContext) throws -> BackupService {
        let databaseID = try context.database()
        if let service = backups[databaseID] { return service }
        if let reason = setupErrors[databaseID] {
            throw APIError(.badRequest, code: "backup_not_configured", message: reason)
        }
        throw APIError.notFound("database_not_found", "no database with id '\(databaseID)'")
    }

    private func backup(_ request: Request, context: DucklingRequestContext) async throws -> BackupCreatedResponse {
        let service = try service(request, context: context)
        // A snapshot, then (when S3 is configured) that snapshot uploaded: each a run of its task.
        let (local, key) = try await run {
            let local = try await tracked(.backup, service, bytes: { $0.size }) { try await service.createLocal() }
            guard service.hasS3 else { return (local, nil as String?) }
            return (local, try await tracked(.s3Backup, service, bytes: { _ in local.size }) { try await service.uploadLatestLocal() })
        }
        return BackupCreatedResponse(message: "Manual backup completed successfully", backup: local.backupID, key: key)
    }

    private func restoreLocal(_ request: Request, context: DucklingRequestContext) async throws -> RestoreResponse {
        let service = try service(request, context: context)
        let source: RestoreSource = request.uri.queryParameters.get("name").map { .local(name: String($0)) } ?? .latestLocal
        let manifest = try await run { try await service.restore(from: source) }
        return RestoreResponse(message: "Restore from backup completed successfully", backup: manifest.backupID)
    }

    private func list(_ request: Request, context: DucklingRequestContext) async throws -> BackupListResponse {
        let service = try service(request, context: context)
        let (listings, s3Error) = try await run { try await service.list() }
        return BackupListResponse(backups: listings.map(BackupItem.init), s3Error: s3Error)
    }

    private func uploadS3(_ request: Request, context: DucklingRequestContext) async throws -> BackupCreatedResponse {
        let service = try service(request, context: context)
        guard service.hasS3 else {
            throw APIError(.badRequest, code: "s3_not_configured", message: "database '\(service.database.id)' has no S3 backup configured (backup.s3.bucket_url)")
        }
        let key = try await run { try await tracked(.s3Backup, service, bytes: { _ in nil }) { try await service.uploadToS3() } }
        return BackupCreatedResponse(message: "Backup uploaded to S3: \(key)", backup: (key as NSString).lastPathComponent, key: key)
    }

    private func restoreS3(_ request: Request, context: DucklingRequestContext) async throws -> RestoreResponse {
        let service = try service(request, context: context)
        let body = try await RequestBodyReader.decode(S3RestoreRequest.self, from: request, context: context, limit: Self.maxBodyBytes)
        let manifest = try await run { try await service.restore(from: .s3(key: body.key)) }
        return RestoreResponse(message: "Database restored from S3 backup successfully", backup: manifest.backupID)
    }

    private func verify(_ request: Request, context: DucklingRequestContext) async throws -> VerifyResponse {
        let service = try service(request, context: context)
        var body = VerifyRequest()
        if request.headers[.contentLength].flatMap(Int.init) ?? 0 > 0 {
            body = try await RequestBodyReader.decode(VerifyRequest.self, from: request, context: context, limit: Self.maxBodyBytes)
        }
        let name: String? = body.name ?? request.uri.queryParameters.get("name").map { String($0) }
        let s3Key = body.key
        let results: [BackupVerification] = try await run { try await service.verify(name: name, s3Key: s3Key) }
        let items = results.map { VerifyResponse.Item(name: $0.name, location: $0.location.rawValue, verified: $0.verified, error: $0.error) }
        return VerifyResponse(success: results.allSatisfy { $0.verified }, results: items)
    }

    /// Runs a backup the API asked for as a run of the database's automation task `kind`, so it is
    /// recorded and never runs beside a scheduled one.
    private func tracked<T: Sendable>(
        _ kind: AutomationTaskKind, _ service: BackupService, bytes: @escaping @Sendable (T) -> Int64?, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        guard let automation = automation[service.database.id] else { return try await body() }
        return try await automation.track(kind, trigger: "api", bytes: bytes, body)
    }

    /// Runs a backup operation, turning its failures into the API's errors.
    private func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as BackupError {
            throw APIError(error)
        } catch let error as DatabaseUnavailable {
            throw APIError(.serviceUnavailable, code: error.code, message: error.description,
                           headers: [.retryAfter: String(error.retryAfterSeconds)])
        } catch let error as SyncError {
            throw APIError(error)
        } catch let error as AutomationError {
            throw APIError(error)
        }
    }
}

extension APIError {
    init(_ error: BackupError) {
        let status: HTTPResponse.Status = switch error.kind {
        case .configuration: .badRequest
        case .notFound: .notFound
        case .corrupt, .wrongKey, .unsupported, .verification: .unprocessableContent
        case .noSpace: HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage")
        case .busy: .conflict
        case .storage: .badGateway
        case .io: .internalServerError
        }
        self.init(status, code: "backup_\(error.kind.rawValue)", message: error.message)
    }
}
