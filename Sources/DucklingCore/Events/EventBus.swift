public import Foundation
public import Logging
import Synchronization

/// The one in-process event bus (DESIGN.md §9): jobs, lineage and metrics publish to it, and each
/// Server-Sent Events client reads its own bounded queue. Events are numbered and the latest
/// `events.history_size` (and at most `events.history_bytes` of them) are kept, so a client that reconnects with `Last-Event-ID` gets exactly
/// what it missed. Ids start at the microseconds since 1970 when the bus was made, so they keep
/// growing across restarts and an id of an earlier run is never taken for one of this run.
public final class EventBus: Sendable {
    public let settings: EventSettings
    let logger: Logger
    private let state: Mutex<State>

    struct State {
        var nextID: UInt64
        /// The latest events, oldest first from `historyStart`; slots before it are emptied, so
        /// a forgotten frame is freed at once.
        var history: [BusEvent?] = []
        var historyStart = 0
        var historyBytes = 0
        var subscribers: [String: EventSubscription] = [:]
        var stopped = false
        var published = 0
        var publishedByKind: [EventKind: Int] = [:]
        var dropped = 0
        var evictions: [EventSubscription.CloseReason: Int] = [:]
        var connections = 0
        var zombiesDetected: [EventSubscription.ZombieReason: Int] = [:]
        var lastCleanup: Date?

        /// The history in order.
        var ordered: [BusEvent] { history[historyStart...].compactMap { $0 } }

        /// Keeps `event`, then forgets the oldest while more than `count` events or `bytes` of
        /// frames are kept.
        mutating func remember(_ event: BusEvent, count: Int, bytes: Int) {
            guard count > 0 else { return }
            history.append(event)
            historyBytes += event.frame.count
            while history.count - historyStart > count || (historyBytes > bytes && history.count - historyStart > 1) {
                historyBytes -= history[historyStart]?.frame.count ?? 0
                history[historyStart] = nil
                historyStart += 1
            }
            if historyStart > 1024, historyStart * 2 > history.count {
                history.removeFirst(historyStart)
                historyStart = 0
            }
        }
    }

    public init(settings: EventSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        state = Mutex(State(nextID: UInt64(max(1, Date().timeIntervalSince1970 * 1_000_000))))
    }

    // MARK: Publishing

    /// Publishes an event whose `data` is `value`, to the history and every client that wants it.
    @discardableResult
    public func publish(_ kind: EventKind, _ value: some Encodable & Sendable) -> BusEvent? {
        publish(kind, json: BusEvent.json(value))
    }

    /// Publishes an event whose `data` is the JSON text `json` (one line).
    @discardableResult
    public func publish(_ kind: EventKind, json: [UInt8]) -> BusEvent? {
        let timestamp = Date().timeIntervalSince1970
        // Queued under the bus's lock, so every client gets events in the order of their ids;
        // a client whose queue is full is closed after it (closing may call back into the bus).
        let (event, overflowed): (BusEvent?, [EventSubscription]) = state.withLock { state in
            guard !state.stopped else { return (nil, []) }
            let event = BusEvent(id: state.nextID, kind: kind, timestamp: timestamp, data: json)
            state.nextID += 1
            state.published += 1
            state.publishedByKind[kind, default: 0] += 1
            state.remember(event, count: settings.historySize, bytes: settings.historyBytes)
            var overflowed: [EventSubscription] = []
            for subscription in state.subscribers.values where subscription.wants(kind) {
                if !subscription.enqueue(.event(event)) { overflowed.append(subscription) }
            }
            return (event, overflowed)
        }
        for subscription in overflowed { end(subscription, .queueFull) }
        return event
    }

    // MARK: Subscribing

    /// What a new stream starts with.
    public struct Opening: Sendable {
        public let subscription: EventSubscription
        /// The events after the asked-for id, oldest first.
        public let replay: Int
        /// Set when the asked-for id is older than the history (or from another run): the
        /// client missed events nobody can send it any more.
        public let gap: Gap?
    }

    public struct Gap: Sendable, Codable {
        public let requested: String
        public let oldestAvailable: String?
        enum CodingKeys: String, CodingKey { case requested, oldestAvailable = "oldest_available" }
    }

    public enum SubscribeError: Error, Sendable {
        case tooManyClients(Int)
        case stopped
    }

    /// Registers a client. With `lastEventID`, the events after it that the client wants are
    /// queued first (past the queue's bound: that is what it asked for), atomically with the
    /// registration, so no event is missed or sent twice. `onClose` runs once when it ends.
    public func subscribe(kinds: Set<EventKind>?, lastEventID: String?, answersPings: Bool,
                          onClose: @escaping @Sendable (EventSubscription.CloseReason) -> Void) throws(SubscribeError) -> Opening {
        let id = String(UUID().uuidString.lowercased().prefix(13))
        let subscription = EventSubscription(id: id, kinds: kinds, answersPings: answersPings,
                                             capacity: settings.clientQueueSize, onClose: onClose)
        let result: Result<(Int, Gap?), SubscribeError> = state.withLock { state in
            if state.stopped { return .failure(.stopped) }
            guard state.subscribers.count < settings.maxClients else { return .failure(.tooManyClients(settings.maxClients)) }
            state.subscribers[id] = subscription
            state.connections += 1
            guard let lastEventID else { return .success((0, nil)) }
            let history = state.ordered
            let latest = state.nextID - 1
            guard let last = UInt64(lastEventID.trimmingCharacters(in: .whitespaces)), last != latest else {
                // Unreadable, or the latest event: the first is a gap, the second misses nothing.
                return .success((0, UInt64(lastEventID.trimmingCharacters(in: .whitespaces)) == latest ? nil
                    : Gap(requested: lastEventID, oldestAvailable: history.first.map { String($0.id) })))
            }
            // Every id from the oldest kept on is in the history; an older id missed events that
            // are gone, and a later one is not of this run.
            guard last < latest, let oldest = history.first?.id, last >= oldest - 1 else {
                return .success((0, Gap(requested: lastEventID, oldestAvailable: history.first.map { String($0.id) })))
            }
            var replayed = 0
            for event in history where event.id > last && subscription.wants(event.kind) {
                _ = subscription.enqueue(.event(event), force: true)
                replayed += 1
            }
            return .success((replayed, nil))
        }
        switch result {
        case .success(let (replay, gap)): return Opening(subscription: subscription, replay: replay, gap: gap)
        case .failure(let error): throw error
        }
    }

    /// Forgets a client whose stream ended, counting why.
    public func unsubscribe(_ subscription: EventSubscription, dropped: Int = 0) {
        let reason = subscription.closeReason
        state.withLock { state in
            guard state.subscribers.removeValue(forKey: subscription.id) != nil else { return }
            state.dropped += dropped
            if let reason { state.evictions[reason, default: 0] += 1 }
        }
    }

    /// Ends a client's stream; false when there is no such client.
    @discardableResult
    public func disconnect(_ clientID: String, reason: EventSubscription.CloseReason = .disconnected) -> Bool {
        guard let subscription = state.withLock({ $0.subscribers[clientID] }) else { return false }
        end(subscription, reason)
        return true
    }

    /// Closes `subscription` and removes it, counting the events it had waiting as dropped.
    public func end(_ subscription: EventSubscription, _ reason: EventSubscription.CloseReason) {
        let dropped = subscription.close(reason)
        unsubscribe(subscription, dropped: dropped)
    }

    /// The clients connected now.
    public var subscribers: [EventSubscription] {
        state.withLock { Array($0.subscribers.values) }.sorted { $0.connectedAt < $1.connectedAt }
    }

    public func subscriber(_ id: String) -> EventSubscription? {
        state.withLock { $0.subscribers[id] }
    }

    /// Ends every stream and refuses new ones: the server is stopping.
    public func stop() {
        let all = state.withLock { state in
            state.stopped = true
            return Array(state.subscribers.values)
        }
        for subscription in all { end(subscription, .shutdown) }
    }

    // MARK: Figures

    func recordZombie(_ reason: EventSubscription.ZombieReason) {
        state.withLock { $0.zombiesDetected[reason, default: 0] += 1 }
    }

    func recordCleanup() {
        state.withLock { $0.lastCleanup = Date() }
    }

    /// The bus's figures for `/events/stats`.
    public var statistics: EventStatistics {
        let clients = subscribers.map(\.figures)
        return state.withLock { state in
            EventStatistics(
                clients: clients.count, totalConnections: state.connections, eventsPublished: state.published,
                publishedByType: Dictionary(uniqueKeysWithValues: state.publishedByKind.map { ($0.key.rawValue, $0.value) }),
                eventsSent: clients.reduce(0) { $0 + $1.eventsSent }, eventsDropped: state.dropped,
                evictions: Dictionary(uniqueKeysWithValues: EventSubscription.CloseReason.allCases.map { ($0.rawValue, state.evictions[$0] ?? 0) }),
                history: state.ordered.count, historyBytes: state.historyBytes, historyCapacity: settings.historySize,
                oldestEventID: state.ordered.first.map { String($0.id) }, lastEventID: state.nextID > 0 ? String(state.nextID - 1) : nil,
                queueCapacity: settings.clientQueueSize, clientDetails: clients)
        }
    }

    /// The data of a `queue_status` event: the clients' queues and what the bus did with events.
    public var queueStatus: QueueStatus {
        let depths = subscribers.map(\.figures.queueDepth)
        return state.withLock { state in
            QueueStatus(clients: depths.count, queuedEvents: depths.reduce(0, +), deepestQueue: depths.max() ?? 0,
                        queueCapacity: settings.clientQueueSize, eventsPublished: state.published, eventsDropped: state.dropped,
                        evictions: state.evictions.values.reduce(0, +))
        }
    }

    /// The figures of `/events/zombies`.
    public var zombies: ZombieStatistics {
        let current = subscribers.compactMap { subscription in
            subscription.zombie.map { ZombieStatistics.Zombie(clientID: subscription.id, reason: $0.reason.rawValue, detectedAt: $0.at) }
        }
        return state.withLock { state in
            ZombieStatistics(
                currentZombies: current.count, totalDetected: state.zombiesDetected.values.reduce(0, +),
                detectionReasons: Dictionary(uniqueKeysWithValues: EventSubscription.ZombieReason.allCases.map { ($0.rawValue, state.zombiesDetected[$0] ?? 0) }),
                lastCleanup: state.lastCleanup.map(\.timeIntervalSince1970), zombieDetails: current)
        }
    }
}
