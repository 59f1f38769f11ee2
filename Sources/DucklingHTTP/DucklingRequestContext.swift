public import Hummingbird
public import Foundation
public import NIOCore

/// The per-request context: Hummingbird's core storage, the client's connection (to notice a
/// client that leaves mid-query) and the caller the API key identified.
public struct DucklingRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's connection.
    public let channel: any Channel
    /// Set by ``AuthMiddleware`` for every route that needs a key.
    public var principal: Principal?
    /// The database a database-scoped route works on (`?db=`), set once ``AccessMiddleware`` has
    /// checked that it exists and that the key may use it.
    public var databaseID: String?

    /// JSON responses with keys in a stable order.
    public var responseEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}
