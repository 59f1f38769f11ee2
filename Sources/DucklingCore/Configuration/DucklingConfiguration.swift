/// Everything Duckling is configured with, after the file, the environment and the command line
/// have been merged and checked (see ``ConfigurationLoader``).
public struct DucklingConfiguration: Sendable {
    public var server: ServerSettings
    public var engine: EngineSettings
    public var query: QuerySettings
    public var automation: AutomationSettings
    /// The databases by id, `default` always among them, in the order they were configured.
    public var databases: [DatabaseSettings]
    /// The DuckLake lake and the dataset buckets.
    public var lake: LakeSettings
    /// The event bus and its streams.
    public var events = EventSettings()
    /// Lineage of Duckling's jobs and forwarding of every event.
    public var lineage = LineageSettings()
    /// The file the configuration came from, if any.
    public var file: String?

    public init(
        server: ServerSettings, engine: EngineSettings, query: QuerySettings,
        automation: AutomationSettings, databases: [DatabaseSettings], lake: LakeSettings, file: String?
    ) {
        self.lake = lake
        self.server = server
        self.engine = engine
        self.query = query
        self.automation = automation
        self.databases = databases
        self.file = file
    }

    public func database(_ id: String) -> DatabaseSettings? {
        databases.first { $0.id == id }
    }
}
