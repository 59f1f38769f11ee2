/// The event bus and its Server-Sent Event streams (`events:` in the file).
public struct EventSettings: Sendable {
    /// Seconds between heartbeat comments on every stream.
    public var heartbeatSeconds: Int = 15
    /// The reconnection delay the streams ask clients for (`retry:`), in milliseconds.
    public var retryMilliseconds: Int = 3_000
    /// Events kept for clients that resume with `Last-Event-ID`.
    public var historySize: Int = 10_000
    /// The most bytes of event frames the history keeps (the oldest go first).
    public var historyBytes: Int = 64 << 20
    /// Events one client may have waiting; a client whose queue is full is disconnected.
    public var clientQueueSize: Int = 1_000
    /// Streams open at once; one more is answered 503.
    public var maxClients: Int = 10_000
    /// Seconds between pings to clients that answer them (`?pong=true`).
    public var pingSeconds: Int = 30
    /// Seconds without a completed write after which a client is a zombie.
    public var inactivitySeconds: Int = 120
    /// Seconds between `system_metric` and `queue_status` events; 0 turns them off.
    public var metricsSeconds: Int = 10

    public init() {}
}
