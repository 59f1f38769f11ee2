public import DucklingCore
public import Hummingbird
public import Logging
public import Prometheus
public import ServiceLifecycle
public import NIOCore
import Metrics

/// Everything the HTTP application serves, built once by `serve` and by tests alike.
public struct DucklingServices: Sendable {
    public let configuration: DucklingConfiguration
    public let registry: DatabaseRegistry
    public let queries: QueryService
    public let syncScheduler: SyncScheduler
    public let authenticator: APIKeyAuthenticator
    public let metrics: PrometheusCollectorRegistry
    public let logger: Logger

    /// Opens nothing: call ``DatabaseRegistry/openAll()`` before serving.
    public init(configuration: DucklingConfiguration, adminKey: Secret, logger: Logger) {
        let metrics = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: metrics)
        let registry = DatabaseRegistry(configuration: configuration, logger: logger)
        self.configuration = configuration
        self.registry = registry
        self.queries = QueryService(registry: registry, settings: configuration.query, logger: logger, metricsFactory: factory)
        self.syncScheduler = SyncScheduler(
            engines: registry.databases.map { SyncEngine(database: $0, engine: configuration.engine, logger: logger) },
            logger: logger)
        self.authenticator = APIKeyAuthenticator(configuration: configuration, adminKey: adminKey)
        self.metrics = metrics
        self.logger = logger
    }

    var metricsFactory: any MetricsFactory { PrometheusMetricsFactory(registry: metrics) }
}

/// Builds the Hummingbird application: routes, auth, error shape and metrics.
public func buildApplication(
    _ services: DucklingServices,
    host: String? = nil,
    port: Int? = nil,
    backgroundServices: [any Service] = [],
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let router = Router(context: DucklingRequestContext.self)
    router.add(middleware: RequestMetricsMiddleware(metrics: MetricHandles(factory: services.metricsFactory)))
    router.add(middleware: ErrorMiddleware())
    router.add(middleware: AuthMiddleware(authenticator: services.authenticator, publicPaths: HealthController.publicPaths))
    HealthController(registry: services.registry, queries: services.queries, startedAt: .now).addRoutes(to: router)
    QueryController(queries: services.queries, maxBodyBytes: services.configuration.server.maxBodyBytes).addRoutes(to: router)
    MetricsController(registry: services.metrics).addRoutes(to: router)
    StoreController(scheduler: services.syncScheduler, queries: services.queries).addRoutes(to: router)
    return Application(
        router: router,
        server: .http1(configuration: .init(additionalChannelHandlers: [ClientCloseWatcher()])),
        configuration: .init(
            address: .hostname(host ?? services.configuration.server.host, port: port ?? services.configuration.server.port),
            serverName: "Duckling"),
        services: [services.syncScheduler] + backgroundServices,
        onServerRunning: onServerRunning,
        logger: services.logger)
}
