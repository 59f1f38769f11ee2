public import Foundation

/// `GET /events/stats`: the bus, its history and every client.
public struct EventStatistics: Sendable, Codable {
    public let clients: Int
    public let totalConnections: Int
    public let eventsPublished: Int
    public let publishedByType: [String: Int]
    /// Events written to the clients connected now.
    public let eventsSent: Int
    /// Events that were waiting in a queue when its client was disconnected.
    public let eventsDropped: Int
    /// Ended streams by reason.
    public let evictions: [String: Int]
    public let history: Int
    public let historyBytes: Int
    public let historyCapacity: Int
    public let oldestEventID: String?
    public let lastEventID: String?
    public let queueCapacity: Int
    public let clientDetails: [ClientFigures]

    enum CodingKeys: String, CodingKey {
        case clients, totalConnections = "total_connections", eventsPublished = "events_published"
        case publishedByType = "published_by_type", eventsSent = "events_sent", eventsDropped = "events_dropped"
        case evictions, history, historyBytes = "history_bytes", historyCapacity = "history_capacity", oldestEventID = "oldest_event_id"
        case lastEventID = "last_event_id", queueCapacity = "queue_capacity", clientDetails = "client_details"
    }
}

/// `GET /events/zombies`, in the seed's shape.
public struct ZombieStatistics: Sendable, Codable {
    public struct Zombie: Sendable, Codable {
        public let clientID: String
        public let reason: String
        public let detectedAt: Date
        enum CodingKeys: String, CodingKey { case clientID = "client_id", reason, detectedAt = "detected_at" }
    }

    public let currentZombies: Int
    public let totalDetected: Int
    public let detectionReasons: [String: Int]
    /// Seconds since 1970 of the last cleanup, if any.
    public let lastCleanup: Double?
    public let zombieDetails: [Zombie]

    enum CodingKeys: String, CodingKey {
        case currentZombies = "current_zombies", totalDetected = "total_detected", detectionReasons = "detection_reasons"
        case lastCleanup = "last_cleanup", zombieDetails = "zombie_details"
    }
}

/// The data of a `queue_status` event.
public struct QueueStatus: Sendable, Codable {
    public let clients: Int
    public let queuedEvents: Int
    public let deepestQueue: Int
    public let queueCapacity: Int
    public let eventsPublished: Int
    public let eventsDropped: Int
    public let evictions: Int
    /// The lineage forwarding queue, when `OPENLINEAGE_URL` is set.
    public var lineageForwarding: LineageForwarder.Statistics?

    enum CodingKeys: String, CodingKey {
        case clients, queuedEvents = "queued_events", deepestQueue = "deepest_queue", queueCapacity = "queue_capacity"
        case eventsPublished = "events_published", eventsDropped = "events_dropped", evictions, lineageForwarding = "lineage_forwarding"
    }
}
