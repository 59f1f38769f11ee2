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
    /// HTTPS (with HTTP/2 where the client offers it) from these PEM files; nil serves plain HTTP.
    public var tls: TLSFiles?

    /// A certificate chain and its private key, as PEM files.
    public struct TLSFiles: Sendable, Equatable {
        public var certificate: String
        public var privateKey: String

        public init(certificate: String, privateKey: String) {
            self.certificate = certificate
            self.privateKey = privateKey
        }
    }

    /// Whether `host` only accepts connections from this machine.
    public var listensOnLoopbackOnly: Bool {
        let host = host.lowercased()
        return host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// The URL the server answers at.
    public var displayAddress: String {
        "\(tls == nil ? "http" : "https")://\(host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host):\(port)"
    }

    public init() {}
}
