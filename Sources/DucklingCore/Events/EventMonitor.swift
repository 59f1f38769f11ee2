public import Foundation
public import Logging
public import ServiceLifecycle
import DuckDBKit

/// The bus's background work, once a second: heartbeat comments on every stream, pings to the
/// clients that answer them, the seed's zombie rules (a zombie is disconnected three ping
/// intervals after it was found, or at once by `POST /events/zombies/cleanup`), and the periodic
/// `system_metric` and `queue_status` events. Stopping ends every stream.
public final class EventMonitor: Service, Sendable {
    public typealias Figures = @Sendable () async -> [UInt8]?

    let bus: EventBus
    let systemMetrics: Figures?
    let queueStatus: Figures?
    let logger: Logger
    private let wake = EventWaiters()

    /// `systemMetrics` and `queueStatus` give the JSON of the periodic events.
    public init(bus: EventBus, systemMetrics: Figures? = nil, queueStatus: Figures? = nil, logger: Logger) {
        self.bus = bus
        self.systemMetrics = systemMetrics
        self.queueStatus = queueStatus
        self.logger = logger
    }

    static let heartbeat = Array(": heartbeat\n\n".utf8)

    public func run() async throws {
        let settings = bus.settings
        let clock = ContinuousClock()
        var lastHeartbeat = clock.now
        var lastPing = clock.now
        var lastMetrics = clock.now
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                _ = await wake.wait(within: .seconds(1), until: { false })
                let now = clock.now
                if now - lastHeartbeat >= .seconds(settings.heartbeatSeconds) {
                    lastHeartbeat = now
                    for subscription in bus.subscribers where !subscription.enqueue(.frame(Self.heartbeat)) { bus.end(subscription, .queueFull) }
                }
                if now - lastPing >= .seconds(settings.pingSeconds) {
                    lastPing = now
                    ping()
                }
                detectZombies(now: now, cleanUpOlderThan: .seconds(3 * settings.pingSeconds))
                if settings.metricsSeconds > 0, now - lastMetrics >= .seconds(settings.metricsSeconds) {
                    lastMetrics = now
                    if let json = await systemMetrics?() { bus.publish(.systemMetric, json: json) }
                    if let json = await queueStatus?() { bus.publish(.queueStatus, json: json) }
                }
            }
        } onGracefulShutdown: { [wake] in
            wake.resumeAll()
        }
        bus.stop()
    }

    /// Sends each client that answers pings an unnumbered `heartbeat` event naming the ping.
    func ping() {
        for subscription in bus.subscribers where subscription.answersPings {
            let number = subscription.pinged()
            let data = BusEvent.json(Ping(clientID: subscription.id, ping: number))
            let frame = BusEvent.frame(id: nil, event: EventKind.heartbeat.rawValue, timestamp: Date().timeIntervalSince1970, data: data)
            if !subscription.enqueue(.frame(frame)) { bus.end(subscription, .queueFull) }
        }
    }

    /// Marks new zombies, and disconnects those found longer ago than `age`.
    func detectZombies(now: ContinuousClock.Instant, cleanUpOlderThan age: Duration) {
        let settings = bus.settings
        for subscription in bus.subscribers {
            if let reason = subscription.checkZombie(now: now, inactivity: .seconds(settings.inactivitySeconds),
                                                     pingInterval: .seconds(settings.pingSeconds)) {
                bus.recordZombie(reason)
                logger.info("an event stream client is a zombie", metadata: ["client": "\(subscription.id)", "reason": "\(reason.rawValue)"])
            } else if let zombie = subscription.zombie, Date().timeIntervalSince(zombie.at) >= EventSubscription.seconds(age) {
                bus.end(subscription, .zombie)
                bus.recordCleanup()
            }
        }
    }

    /// Disconnects every zombie now; returns their ids.
    public func cleanUpZombies() -> [String] {
        let zombies = bus.subscribers.filter { $0.zombie != nil }
        for subscription in zombies { bus.end(subscription, .zombie) }
        bus.recordCleanup()
        return zombies.map(\.id)
    }

    /// A client's answer to a ping; false when it names no client or no ping sent to it.
    public func pong(clientID: String, ping: Int?) -> Bool {
        bus.subscriber(clientID)?.ponged(ping) ?? false
    }

    struct Ping: Encodable, Sendable {
        let clientID: String
        let ping: Int
        enum CodingKeys: String, CodingKey { case clientID = "client_id", ping }
    }
}
