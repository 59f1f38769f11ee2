import Synchronization

/// Hits and misses of one database's statement caches (one per read connection, each keeping up
/// to `query.statement_cache_size` checked statements by SQL text), for `/api/statistics`.
public final class StatementCacheCounters: Sendable {
    public let capacityPerConnection: Int
    private let hits = Atomic<Int>(0)
    private let misses = Atomic<Int>(0)

    init(capacityPerConnection: Int) {
        self.capacityPerConnection = capacityPerConnection
    }

    func hit() { hits.add(1, ordering: .relaxed) }
    func miss() { misses.add(1, ordering: .relaxed) }

    public struct Snapshot: Encodable, Sendable {
        public let hits: Int
        public let misses: Int
        public let capacityPerConnection: Int

        enum CodingKeys: String, CodingKey {
            case hits, misses
            case capacityPerConnection = "capacity_per_connection"
        }
    }

    public var snapshot: Snapshot {
        Snapshot(hits: hits.load(ordering: .relaxed), misses: misses.load(ordering: .relaxed), capacityPerConnection: capacityPerConnection)
    }
}
