import Prometheus

/// Request counters and latency histograms by method, route and status, with help text (which
/// `promtool check metrics` asks of every metric).
struct HTTPMetrics: Sendable {
    let registry: PrometheusCollectorRegistry

    static let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
    ]

    private static var requests: MetricNameDescriptor { MetricNameDescriptor(
        metricName: "http_requests", unitName: "total", helpText: "HTTP requests answered, by method, route pattern and status.") }
    private static var duration: MetricNameDescriptor { MetricNameDescriptor(
        metricName: "http_request_duration", unitName: "seconds", helpText: "Time to answer an HTTP request, until the response head.") }

    func record(method: String, route: String, status: Int, elapsed: Duration) {
        registry.makeCounter(descriptor: Self.requests, labels: [("method", method), ("route", route), ("status", String(status))]).increment()
        registry.makeDurationHistogram(descriptor: Self.duration, labels: [("method", method), ("route", route)], buckets: Self.buckets)
            .record(elapsed)
    }
}
