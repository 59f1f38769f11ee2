/// The HTTP server and the keys it accepts.
public struct ServerSettings: Sendable {
    public var host: String = "127.0.0.1"
    public var port: Int = 3001
    /// Where databases, backups, the generated API key and temp files live by default.
    public var dataDirectory: String = "./data"
    /// The admin key (`DUCKLING_API_KEY`). When nil, `serve` generates one under the data directory.
    public var apiKey: Secret?
    /// Keys that may read (query, status) but not change anything.
    public var readOnlyKeys: [Secret] = []
    /// The largest request body accepted, in bytes.
    public var maxBodyBytes: Int = 1 << 20

    public init() {}
}
