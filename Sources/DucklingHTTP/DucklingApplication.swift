public import DucklingCore
public import Hummingbird
public import HummingbirdCore
public import Logging
public import Prometheus
public import ServiceLifecycle
public import NIOCore
public import Foundation
public import ObjectStorage

/// Everything the HTTP application serves, built once by `serve` and by tests alike.
public struct DucklingServices: Sendable {
    public let configuration: DucklingConfiguration
    public let registry: DatabaseRegistry
    public let queries: QueryService
    /// The DuckLake lake, when enabled (it opens on first use).
    public let lake: Lake?
    /// The dataset buckets, when enabled.
    public let datasets: DatasetStore?
    /// Why the dataset store could not be set up, if it could not.
    public let datasetsSetupError: String?
    public let syncScheduler: SyncScheduler
    /// Backups of each database, by database id.
    public let backups: [String: BackupService]
    /// Databases whose backup settings could not be used, with the reason (shown by the backup API).
    public let backupSetupErrors: [String: String]
    /// Each database's automation (scheduled backups, cleanup, health), by database id.
    public let automation: [String: AutomationService]
    /// The event bus the streams of `/events` read.
    public let events: EventBus
    /// The lineage store and its events, when it could be opened.
    public let lineage: LineageService?
    /// Why the lineage store could not be opened, if it could not.
    public let lineageSetupError: String?
    public let startedAt = Date()
    public let authenticator: APIKeyAuthenticator
    public let metrics: PrometheusCollectorRegistry
    public let logger: Logger
    /// Every route with its access level, filled in by ``buildApplication(_:host:port:server:backgroundServices:onServerRunning:)``.
    public let routes = RouteList()

    /// Opens only the lineage store's file: call ``openAll()`` before serving.
    /// `storeOptions` tunes S3 requests (tests shorten retry delays).
    public init(configuration: DucklingConfiguration, adminKey: Secret, storeOptions: S3Store.Options = S3Store.Options(), logger: Logger) {
        let metrics = PrometheusCollectorRegistry()
        self.configuration = configuration
        // The bus and the lineage store first: every job reports to them.
        let events = EventBus(settings: configuration.events, logger: logger)
        self.events = events
        do {
            lineage = try LineageService.make(configuration: configuration, bus: events, version: DucklingVersion.current, forwards: true, logger: logger)
            lineageSetupError = nil
        } catch {
            lineage = nil
            lineageSetupError = String(describing: error)
            logger.error("the lineage store cannot be opened: lineage and the job endpoints are off",
                         metadata: ["error": "\(error)"])
        }
        let reporter = JobReporter(lineage: lineage, bus: events, namespace: configuration.lineage.namespace,
                                   redactor: SecretRedactor(configuration: configuration, extra: [adminKey]), logger: logger)
        let registry = DatabaseRegistry(configuration: configuration, logger: logger)
        self.registry = registry
        let lake = configuration.lake.enabled
            ? Lake(settings: configuration.lake, engine: configuration.engine, memory: registry.memory, readers: configuration.query.maxConcurrent,
                   reporter: reporter, logger: logger)
            : nil
        self.lake = lake
        var datasets: DatasetStore?
        var datasetsSetupError: String?
        if configuration.lake.enabled {
            do {
                datasets = try DatasetStore(settings: configuration.lake, httpClient: S3Store.sharedClient, options: storeOptions, logger: logger)
            } catch {
                datasetsSetupError = String(describing: error)
            }
        }
        self.datasets = datasets
        self.datasetsSetupError = datasetsSetupError
        self.queries = QueryService(registry: registry, lake: lake, settings: configuration.query, parquet: configuration.engine.parquet, logger: logger)
        let engines = registry.databases.map { SyncEngine(database: $0, engine: configuration.engine, reporter: reporter, logger: logger) }
        self.syncScheduler = SyncScheduler(engines: engines, logger: logger)
        var backups: [String: BackupService] = [:]
        var backupSetupErrors: [String: String] = [:]
        for engine in engines {
            do {
                backups[engine.database.id] = try BackupService(database: engine.database, sync: engine, httpClient: S3Store.sharedClient,
                                                                storeOptions: storeOptions, reporter: reporter, logger: logger)
            } catch {
                backupSetupErrors[engine.database.id] = String(describing: error)
            }
        }
        self.backups = backups
        self.backupSetupErrors = backupSetupErrors
        self.automation = Dictionary(uniqueKeysWithValues: engines.map { engine in
            (engine.database.id, AutomationService(database: engine.database, sync: engine, backups: backups[engine.database.id],
                                                   engine: configuration.engine, lake: engine.database.id == "default" ? lake : nil, logger: logger))
        })
        self.authenticator = APIKeyAuthenticator(configuration: configuration, adminKey: adminKey)
        self.metrics = metrics
        self.logger = logger
    }
}

extension DucklingServices {
    /// Opens every database and the lineage store.
    public func openAll() async throws {
        try await registry.openAll()
        try await lineage?.open()
    }

    /// Closes every database (checkpointed and released), the lake and the lineage store.
    public func closeAll() async {
        await registry.closeAll()
        await lake?.close()
        await lineage?.store.close()
    }
}

/// Builds the Hummingbird application: routes, auth, error shape and metrics.
public func buildApplication(
    _ services: DucklingServices,
    host: String? = nil,
    port: Int? = nil,
    server: HTTPServerBuilder? = nil,
    backgroundServices: [any Service] = [],
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let router = Router(context: DucklingRequestContext.self)
    router.add(middleware: RequestMetricsMiddleware(metrics: HTTPMetrics(registry: services.metrics)))
    router.add(middleware: ErrorMiddleware())
    let routes = RouteTable(router: router, authenticator: services.authenticator,
                            databases: Set(services.registry.databases.map(\.id)), list: services.routes)
    WebController().addRoutes(to: routes)
    BenchFloorController.fromEnvironment()?.addRoutes(to: routes)
    HealthController(registry: services.registry, queries: services.queries, automation: services.automation, startedAt: services.startedAt).addRoutes(to: routes)
    QueryController(queries: services.queries, maxBodyBytes: services.configuration.server.maxBodyBytes).addRoutes(to: routes)
    MetricsController(services: services).addRoutes(to: routes)
    AutomationController(automation: services.automation).addRoutes(to: routes)
    StatisticsController(services: services).addRoutes(to: routes)
    ConfigController(services: services).addRoutes(to: routes)
    StoreController(scheduler: services.syncScheduler, queries: services.queries).addRoutes(to: routes)
    if let lake = services.lake {
        LakeController(lake: lake, queries: services.queries, datasets: services.datasets,
                       maxBodyBytes: services.configuration.server.maxBodyBytes).addRoutes(to: routes)
    }
    if let datasets = services.datasets {
        DatasetsController(datasets: datasets, maxUploadBytes: services.configuration.lake.maxAppendBytes).addRoutes(to: routes)
    }
    BackupController(backups: services.backups, setupErrors: services.backupSetupErrors, registry: services.registry,
                     automation: services.automation).addRoutes(to: routes)
    let eventMonitor = EventMonitor(bus: services.events, systemMetrics: { await StatisticsController.systemMetric(services) },
                                    queueStatus: {
                                        var status = services.events.queueStatus
                                        status.lineageForwarding = services.lineage?.forwarder?.statistics
                                        return BusEvent.json(status)
                                    }, logger: services.logger)
    EventsController(bus: services.events, monitor: eventMonitor).addRoutes(to: routes)
    if let lineage = services.lineage { LineageController(lineage: lineage).addRoutes(to: routes) }
    return Application(
        router: router,
        server: server ?? .http1(configuration: .init(additionalChannelHandlers: [ClientCloseWatcher()])),
        configuration: .init(
            address: .hostname(host ?? services.configuration.server.host, port: port ?? services.configuration.server.port),
            serverName: "Duckling"),
        services: [services.syncScheduler, eventMonitor] + services.registry.databases.compactMap { services.automation[$0.id] }
            + [services.lineage?.forwarder].compactMap { $0 } + backgroundServices,
        onServerRunning: onServerRunning,
        logger: services.logger)
}
