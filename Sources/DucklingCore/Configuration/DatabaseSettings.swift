/// One DuckDB database Duckling serves: its file, what is synced into it, and its backups.
public struct DatabaseSettings: Sendable {
    public var id: String
    /// The database file (absolute after loading).
    public var path: String
    public var sources: [SourceSettings] = []
    public var datasets: [DatasetSettings] = []
    public var backup: BackupSettings
    /// The global automation settings with this database's overrides applied.
    public var automation: AutomationSettings
    /// Keys with full access to this database only.
    public var apiKeys: [Secret] = []

    public init(id: String, path: String, backup: BackupSettings, automation: AutomationSettings) {
        self.id = id
        self.path = path
        self.backup = backup
        self.automation = automation
    }

    public func source(_ name: String) -> SourceSettings? {
        sources.first { $0.name == name }
    }

    public func dataset(_ name: String) -> DatasetSettings? {
        datasets.first { $0.name == name }
    }
}
