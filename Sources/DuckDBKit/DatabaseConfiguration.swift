/// How a ``Database`` instance is opened. Every value maps onto a DuckDB setting applied at open.
public struct DatabaseConfiguration: Sendable {
    public enum AccessMode: String, Sendable {
        case automatic, readOnly = "read_only", readWrite = "read_write"
    }

    /// `memory_limit`, e.g. "4GB". Nil keeps DuckDB's default (80% of RAM).
    public var memoryLimit: String?
    /// `threads`. Nil keeps DuckDB's default (one per core).
    public var threads: Int?
    /// `temp_directory` for spilling.
    public var tempDirectory: String?
    /// `extension_directory`; extensions are looked up as `DIR/v1.5.5/linux_amd64/NAME.duckdb_extension`.
    public var extensionDirectory: String?
    public var accessMode: AccessMode
    /// `enable_external_access`. False forbids files, network, `ATTACH`, `INSTALL` and `LOAD` to all SQL.
    public var allowsExternalAccess: Bool
    /// `TimeZone` used to render `TIMESTAMP WITH TIME ZONE` values. ICU registers this setting once
    /// the database is open, so it is applied with `SET GLOBAL` right after opening.
    public var timeZone: String?
    /// Further `name → value` settings, applied as given.
    public var additionalSettings: [String: String]

    public init(
        memoryLimit: String? = nil,
        threads: Int? = nil,
        tempDirectory: String? = nil,
        extensionDirectory: String? = nil,
        accessMode: AccessMode = .automatic,
        allowsExternalAccess: Bool = true,
        timeZone: String? = "UTC",
        additionalSettings: [String: String] = [:]
    ) {
        self.memoryLimit = memoryLimit
        self.threads = threads
        self.tempDirectory = tempDirectory
        self.extensionDirectory = extensionDirectory
        self.accessMode = accessMode
        self.allowsExternalAccess = allowsExternalAccess
        self.timeZone = timeZone
        self.additionalSettings = additionalSettings
    }

    /// The settings handed to `duckdb_set_config`, in a stable order. Nothing is downloaded at run
    /// time: automatic installation and loading of extensions are always off.
    var settings: [(String, String)] {
        var result: [(String, String)] = [
            ("autoinstall_known_extensions", "false"),
            ("autoload_known_extensions", "false"),
            ("access_mode", accessMode.rawValue),
        ]
        if let memoryLimit { result.append(("memory_limit", memoryLimit)) }
        if let threads { result.append(("threads", String(threads))) }
        if let tempDirectory { result.append(("temp_directory", tempDirectory)) }
        if let extensionDirectory { result.append(("extension_directory", extensionDirectory)) }
        for (name, value) in additionalSettings.sorted(by: { $0.key < $1.key }) {
            result.append((name, value))
        }
        // Applied last: once external access is off, the settings above could no longer name files.
        result.append(("enable_external_access", allowsExternalAccess ? "true" : "false"))
        return result
    }
}
