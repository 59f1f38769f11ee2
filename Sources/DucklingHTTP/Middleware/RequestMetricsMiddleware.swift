import Hummingbird

/// Counts requests and records their latency by method, matched route and status, for `/metrics`.
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = DucklingRequestContext

    let metrics: HTTPMetrics

    static let standardMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        do {
            let response = try await next(request, context)
            record(request, context: context, status: response.status.code, started: started)
            return response
        } catch let error as any HTTPResponseError {
            record(request, context: context, status: error.status.code, started: started)
            throw error
        } catch {
            record(request, context: context, status: 500, started: started)
            throw error
        }
    }

    private func record(_ request: Request, context: Context, status: Int, started: ContinuousClock.Instant) {
        // The route pattern, not the path: one series per endpoint whatever the parameters.
        let route = context.endpointPath ?? "unmatched"
        // HTTP/2 takes any method token; series only for the standard ones, so clients cannot make more.
        let method = Self.standardMethods.contains(request.method.rawValue) ? request.method.rawValue : "OTHER"
        metrics.record(method: method, route: route, status: status, elapsed: ContinuousClock.now - started)
    }
}
