import Hummingbird
import Prometheus

/// `GET /metrics`: everything recorded, in Prometheus' text format.
struct MetricsController {
    let registry: PrometheusCollectorRegistry

    func addRoutes(to router: Router<DucklingRequestContext>) {
        router.get("/metrics") { _, _ in
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }
}
