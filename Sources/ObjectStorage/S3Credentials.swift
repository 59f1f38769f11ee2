/// Keys for signing S3 requests. `description` never shows them.
public struct S3Credentials: Sendable, CustomStringConvertible {
    public let accessKey: String
    public let secretKey: String
    public let sessionToken: String?

    public init(accessKey: String, secretKey: String, sessionToken: String? = nil) {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.sessionToken = sessionToken.flatMap { $0.isEmpty ? nil : $0 }
    }

    public var description: String { "S3Credentials(••••••)" }
}
