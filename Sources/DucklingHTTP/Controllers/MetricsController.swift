import DucklingCore
import Foundation
import Hummingbird

/// `GET /metrics`: the HTTP metrics recorded as requests are answered, then everything read
/// from Duckling's state at the scrape, in Prometheus' text format.
struct MetricsController {
    let services: DucklingServices

    func addRoutes(to routes: RouteTable) {
        // Every database's series: the server's admin key only.
        routes.group("/metrics", .admin, scope: .server).get { _, _ in
            var buffer: [UInt8] = []
            services.metrics.emit(into: &buffer)
            var newest: [String: (bytes: Int64, createdAt: Date)] = [:]
            for (id, backups) in services.backups {
                if let latest = try? await backups.newestVerifiedLocal() { newest[id] = latest }
            }
            buffer += Array(ScrapeMetrics.render(services, backupSizes: newest).utf8)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }
}
