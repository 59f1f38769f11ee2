public import AsyncHTTPClient

extension S3Store {
    /// The process-wide client for S3 requests: a 10 s connect timeout and a 60 s read timeout, so
    /// a stalled transfer fails (and is retried or resumed) instead of hanging. It lives as long as
    /// the process and is never shut down.
    public static let sharedClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(60))
        configuration.decompression = .disabled
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()
}
