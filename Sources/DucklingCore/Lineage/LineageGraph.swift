/// The lineage graph around one node, as Marquez answers `GET /api/v1/lineage`: jobs and the
/// datasets they read and wrote, `depth` steps upstream and downstream.
public struct LineageGraph: Sendable, Encodable {
    public enum Node: Sendable, Hashable {
        case job(namespace: String, name: String)
        case dataset(namespace: String, name: String)

        /// `job:NS:NAME` or `dataset:NS:NAME`; the name is what follows the last `:`, so
        /// namespaces such as `postgres://host:5432/db` keep their colons.
        public init?(id: String) {
            guard let first = id.firstIndex(of: ":"), let last = id.lastIndex(of: ":"), first < last else { return nil }
            let namespace = String(id[id.index(after: first)..<last])
            let name = String(id[id.index(after: last)...])
            guard !namespace.isEmpty, !name.isEmpty else { return nil }
            switch id[..<first] {
            case "job": self = .job(namespace: namespace, name: name)
            case "dataset": self = .dataset(namespace: namespace, name: name)
            default: return nil
            }
        }

        public var id: String {
            switch self {
            case .job(let namespace, let name): "job:\(namespace):\(name)"
            case .dataset(let namespace, let name): "dataset:\(namespace):\(name)"
            }
        }
    }

    public struct Edge: Sendable, Hashable, Encodable {
        public let origin: Node
        public let destination: Node

        enum CodingKeys: String, CodingKey { case origin, destination }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(origin.id, forKey: .origin)
            try container.encode(destination.id, forKey: .destination)
        }
    }

    public struct Entry: Sendable, Encodable {
        public let id: String
        public let type: String
        public let data: [String: String]
        public let inEdges: [Edge]
        public let outEdges: [Edge]
    }

    public let graph: [Entry]

    /// The nodes within `depth` edges of `start` (following edges both ways, as Marquez does),
    /// each with its edges inside the result.
    public init(around start: Node, depth: Int, edges: [Edge]) {
        var incoming: [Node: [Edge]] = [:]
        var outgoing: [Node: [Edge]] = [:]
        for edge in edges {
            outgoing[edge.origin, default: []].append(edge)
            incoming[edge.destination, default: []].append(edge)
        }
        var seen: Set<Node> = [start]
        var order: [Node] = [start]
        var frontier: [Node] = [start]
        for _ in 0..<max(0, depth) where !frontier.isEmpty {
            var next: [Node] = []
            for node in frontier {
                for neighbour in (outgoing[node] ?? []).map(\.destination) + (incoming[node] ?? []).map(\.origin) where !seen.contains(neighbour) {
                    seen.insert(neighbour)
                    order.append(neighbour)
                    next.append(neighbour)
                }
            }
            frontier = next
        }
        graph = order.map { node in
            let data: [String: String]
            let type: String
            switch node {
            case .job(let namespace, let name): (type, data) = ("JOB", ["namespace": namespace, "name": name])
            case .dataset(let namespace, let name): (type, data) = ("DATASET", ["namespace": namespace, "name": name])
            }
            return Entry(id: node.id, type: type, data: data,
                         inEdges: (incoming[node] ?? []).filter { seen.contains($0.origin) },
                         outEdges: (outgoing[node] ?? []).filter { seen.contains($0.destination) })
        }
    }
}
