import DucklingCore
import Foundation
import Hummingbird

/// The seed's automation endpoints: `GET /automation/status`, `POST /automation/start`, `/stop`
/// and `/cleanup`, each for `?db=` (backup and restore are in ``BackupController``).
struct AutomationController {
    let automation: [String: AutomationService]

    func addRoutes(to routes: RouteTable) {
        routes.group("/automation", .read).get("/status") { _, context in
            let service = try service(context)
            return AutomationStatusResponse(status: service.status(), architecture: AutomationService.architecture)
        }
        let changes = routes.group("/automation", .write)
        changes.post("/start") { _, context in
            await try service(context).start()
            return MessageResponse(success: true, message: "Automation service started successfully")
        }
        changes.post("/stop") { _, context in
            try service(context).stop()
            return MessageResponse(success: true, message: "Automation service stopped successfully")
        }
        changes.post("/cleanup") { _, context in
            let service = try service(context)
            do {
                let report = try await service.cleanupNow()
                guard report.warnings.isEmpty else {
                    throw APIError(.internalServerError, code: "cleanup_incomplete", message: "cleanup finished with problems: \(report.warnings.joined(separator: "; "))")
                }
                return CleanupResponse(message: "Manual cleanup completed successfully", result: report)
            } catch let error as AutomationError {
                throw APIError(error)
            }
        }
    }

    private func service(_ context: DucklingRequestContext) throws -> AutomationService {
        let id = try context.database()
        guard let service = automation[id] else { throw APIError.notFound("database_not_found", "no database with id '\(id)'") }
        return service
    }
}

struct AutomationStatusResponse: ResponseEncodable {
    let success = true
    let status: AutomationStatus
    let architecture: String
}

struct CleanupResponse: ResponseEncodable {
    let success = true
    let message: String
    let result: CleanupReport
}

extension APIError {
    /// A task already running is a conflict; one not configured is the caller's mistake.
    init(_ error: AutomationError) {
        switch error {
        case .alreadyRunning: self.init(.conflict, code: "task_running", message: error.description)
        case .notConfigured, .notATask: self.init(.badRequest, code: "not_configured", message: error.description)
        }
    }
}
