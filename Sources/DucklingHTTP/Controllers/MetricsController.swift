import Hummingbird
import Prometheus

/// `GET /metrics`: everything recorded, in Prometheus' text format.
struct MetricsController {
    let registry: PrometheusCollectorRegistry

    func addRoutes(to routes: RouteTable) {
        // Every database's series: the server's admin key only.
        routes.group("/metrics", .admin, scope: .server).get { _, _ in
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }
}
