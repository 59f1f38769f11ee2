import Prometheus
import Synchronization

/// Request counters and latency histograms by method, route and status, with help text (which
/// `promtool check metrics` asks of every metric).
struct HTTPMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    /// The series already made, so a request does not build and validate its metric names again.
    private let series = Series()

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    static let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
    ]

    private static var requests: MetricNameDescriptor { MetricNameDescriptor(
        metricName: "http_requests", unitName: "total", helpText: "HTTP requests answered, by method, route pattern and status.") }
    private static var duration: MetricNameDescriptor { MetricNameDescriptor(
        metricName: "http_request_duration", unitName: "seconds", helpText: "Time to answer an HTTP request, until the response head.") }

    func record(method: String, route: String, status: Int, elapsed: Duration) {
        let key = Series.Key(method: method, route: route, status: status)
        let (counter, histogram) = series.made.withLock { made in
            if let existing = made[key] { return existing }
            let counter = registry.makeCounter(descriptor: Self.requests, labels: [("method", method), ("route", route), ("status", String(status))])
            let histogram = registry.makeDurationHistogram(descriptor: Self.duration, labels: [("method", method), ("route", route)], buckets: Self.buckets)
            made[key] = (counter, histogram)
            return (counter, histogram)
        }
        counter.increment()
        histogram.record(elapsed)
    }

    private final class Series: Sendable {
        struct Key: Hashable {
            let method: String
            let route: String
            let status: Int
        }

        let made = Mutex<[Key: (Counter, DurationHistogram)]>([:])
    }
}
