import Hummingbird
import DucklingCore
import Synchronization

/// One registered route: its method, path and what it needs from the caller.
public struct RouteEntry: Sendable, Hashable {
    public let method: String
    public let path: String
    public let access: AccessLevel
    public let scope: RouteScope
}

/// Every route the application registered, for tests that walk them with each kind of key.
public final class RouteList: Sendable {
    private let entries = Mutex<[RouteEntry]>([])

    public init() {}

    public var all: [RouteEntry] { entries.withLock { $0 } }

    func record(_ entry: RouteEntry) {
        entries.withLock { $0.append(entry) }
    }
}

/// The only way controllers add routes: each group carries its access level in middleware
/// (public, read, write, admin) and its scope, so a new endpoint cannot forget to check the key.
struct RouteTable {
    let router: Router<DucklingRequestContext>
    let authenticator: APIKeyAuthenticator
    let databases: Set<String>
    let list: RouteList

    /// `extraDatabases` are further ids `?db=` may name on these routes (the lake, for queries).
    func group(_ path: String = "", _ access: AccessLevel, scope: RouteScope = .database, extraDatabases: Set<String> = []) -> AccessRouteGroup {
        let group = router.group(RouterPath(path))
            .add(middleware: AccessMiddleware(level: access, scope: scope, authenticator: authenticator, databases: databases.union(extraDatabases)))
        return AccessRouteGroup(group: group, prefix: path, access: access, scope: scope, list: list)
    }
}

/// Routes under one path prefix with one access level.
struct AccessRouteGroup {
    let group: RouterGroup<DucklingRequestContext>
    let prefix: String
    let access: AccessLevel
    let scope: RouteScope
    let list: RouteList

    typealias Handler<Output> = @Sendable (Request, DucklingRequestContext) async throws -> Output

    @discardableResult
    func get(_ path: String = "", use handler: @escaping Handler<some ResponseGenerator>) -> Self {
        on(.get, path, use: handler)
    }

    @discardableResult
    func put(_ path: String = "", use handler: @escaping Handler<some ResponseGenerator>) -> Self {
        on(.put, path, use: handler)
    }

    @discardableResult
    func patch(_ path: String = "", use handler: @escaping Handler<some ResponseGenerator>) -> Self {
        on(.patch, path, use: handler)
    }

    @discardableResult
    func delete(_ path: String = "", use handler: @escaping Handler<some ResponseGenerator>) -> Self {
        on(.delete, path, use: handler)
    }

    @discardableResult
    func head(_ path: String = "", use handler: @escaping Handler<some ResponseGenerator>) -> Self {
        on(.head, path, use: handler)
    }

    @discardableResult
    func post(_ path: String = "", use handler: @escaping Handler<some ResponseGenerator>) -> Self {
        on(.post, path, use: handler)
    }

    private func on(_ method: HTTPRequest.Method, _ path: String, use handler: @escaping Handler<some ResponseGenerator>) -> Self {
        group.on(RouterPath(path), method: method, use: handler)
        let segments = (prefix.split(separator: "/") + path.split(separator: "/")).map(String.init)
        list.record(RouteEntry(method: method.rawValue, path: "/" + segments.joined(separator: "/"), access: access, scope: scope))
        return self
    }
}
