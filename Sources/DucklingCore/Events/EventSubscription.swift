public import Foundation
import Synchronization

/// One client's stream: the events it asked for, waiting in a bounded queue until its writer
/// takes them. A client that does not read fills its queue and is disconnected; nothing is ever
/// buffered past the bound.
public final class EventSubscription: Sendable {
    /// Why a stream ended.
    public enum CloseReason: String, Sendable, Codable, CaseIterable {
        /// Its queue was full when an event came.
        case queueFull = "queue_full"
        /// A write to it failed.
        case writeError = "write_error"
        /// The client closed the connection.
        case clientClosed = "client_closed"
        /// `DELETE /events/clients/{id}`.
        case disconnected
        /// A zombie, cleaned up.
        case zombie
        /// The server is stopping.
        case shutdown
    }

    /// Why a client is considered a zombie (the seed's detection rules).
    public enum ZombieReason: String, Sendable, Codable, CaseIterable {
        case writeErrors = "write_errors"
        case missedPings = "missed_pings"
        case queueConsistentlyFull = "queue_consistently_full"
        case timeout
        case noPongResponse = "no_pong_response"
    }

    /// What the writer sends next.
    public enum Item: Sendable {
        case event(BusEvent)
        /// A frame that is not an event of the history: a heartbeat comment, a ping, a marker.
        case frame([UInt8])

        var size: Int {
            switch self {
            case .event(let event): event.frame.count
            case .frame(let frame): frame.count
            }
        }
    }

    /// The most bytes one write takes from the queue (a burst of small events goes in one write;
    /// large ones are not copied together without bound).
    static let batchBytes = 256 << 10

    public let id: String
    /// The kinds this client gets; nil for all.
    public let kinds: Set<EventKind>?
    /// Whether the client answers pings (`?pong=true`), and so may be found missing them.
    public let answersPings: Bool
    public let connectedAt: Date
    let capacity: Int
    private let state: Mutex<State>

    struct State {
        var queue: [Item] = []
        var head = 0
        var waiter: CheckedContinuation<Item?, Never>?
        var closed: CloseReason?
        var onClose: (@Sendable (CloseReason) -> Void)?
        var sent = 0
        var lastWrite: ContinuousClock.Instant
        var writing: ContinuousClock.Instant?
        var writeErrors = 0
        var pingsSent = 0
        var pongs = 0
        var lastPing: (number: Int, at: ContinuousClock.Instant)?
        var lastPong: Int?
        var firstPingAt: ContinuousClock.Instant?
        var fullCount = 0
        var zombie: (reason: ZombieReason, at: Date)?
        /// Replayed history still waiting: it sits at the front and does not count against the bound.
        var replayBacklog = 0

        var depth: Int { queue.count - head }
        /// What counts against the queue's bound.
        var liveDepth: Int { depth - replayBacklog }

        /// The oldest queued item, marked as being written.
        mutating func take() -> Item? {
            guard head < queue.count else { return nil }
            let item = queue[head]
            head += 1
            if replayBacklog > 0 { replayBacklog -= 1 }
            if head == queue.count {
                queue.removeAll(keepingCapacity: queue.count <= 64)
                head = 0
            }
            writing = .now
            return item
        }
    }

    init(id: String, kinds: Set<EventKind>?, answersPings: Bool, capacity: Int, onClose: @escaping @Sendable (CloseReason) -> Void) {
        self.id = id
        self.kinds = kinds
        self.answersPings = answersPings
        self.capacity = capacity
        connectedAt = Date()
        state = Mutex(State(onClose: onClose, lastWrite: .now))
    }

    /// Whether this client gets events of `kind`.
    public func wants(_ kind: EventKind) -> Bool {
        kinds.map { $0.contains(kind) } ?? true
    }

    /// Queues `item`; false when the queue is full (the caller then closes the subscription,
    /// outside any lock of its own). `force` queues past the bound: the history a resuming
    /// client asked for.
    func enqueue(_ item: Item, force: Bool = false) -> Bool {
        let (waiter, queued): (CheckedContinuation<Item?, Never>?, Bool) = state.withLock { state in
            guard state.closed == nil else { return (nil, true) }
            if let waiter = state.waiter {
                state.waiter = nil
                state.writing = .now
                state.fullCount = 0
                return (waiter, true)
            }
            guard force || state.liveDepth < capacity else { return (nil, false) }
            if state.head > 64, state.head * 2 > state.queue.count {
                state.queue.removeFirst(state.head)
                state.head = 0
            }
            state.queue.append(item)
            if force { state.replayBacklog += 1 }
            state.fullCount = state.liveDepth * 10 >= capacity * 9 ? state.fullCount + 1 : 0
            return (nil, true)
        }
        waiter?.resume(returning: item)
        return queued
    }


    /// The items to write next, at most `limit`, waiting for one; nil once the subscription is
    /// closed. A writer that takes all that waits writes a burst in one go.
    public func next(upTo limit: Int = 256) async -> [Item]? {
        let first: Item? = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Item?, Never>) in
                let ready: Item?? = state.withLock { state in
                    if state.closed != nil { return .some(nil) }
                    if let item = state.take() { return .some(item) }
                    state.waiter = continuation
                    return .none
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            close(.shutdown)
        }
        guard let first else { return nil }
        var items = [first]
        var bytes = first.size
        state.withLock { state in
            while items.count < limit, bytes < Self.batchBytes, state.closed == nil, let item = state.take() {
                items.append(item)
                bytes += item.size
            }
        }
        return items
    }

    /// The writer finished writing what `next()` gave it, `events` events among it.
    public func written(events: Int) {
        state.withLock { state in
            state.writing = nil
            state.lastWrite = .now
            state.writeErrors = 0
            state.sent += events
        }
    }

    /// A write failed: the stream is over.
    public func writeFailed() {
        state.withLock { state in
            state.writing = nil
            state.writeErrors += 1
        }
        close(.writeError)
    }

    /// Ends the stream: a waiting writer gets nil, queued items are dropped. The first reason counts.
    /// Returns the number of events that were waiting.
    @discardableResult
    public func close(_ reason: CloseReason) -> Int {
        let (waiter, onClose, dropped): (CheckedContinuation<Item?, Never>?, (@Sendable (CloseReason) -> Void)?, Int) = state.withLock { state in
            guard state.closed == nil else { return (nil, nil, 0) }
            state.closed = reason
            let dropped = state.queue[state.head...].reduce(0) { count, item in
                if case .event = item { count + 1 } else { count }
            }
            state.queue = []
            state.head = 0
            defer { state.waiter = nil; state.onClose = nil }
            return (state.waiter, state.onClose, dropped)
        }
        waiter?.resume(returning: nil)
        onClose?(reason)
        return dropped
    }

    public var closeReason: CloseReason? { state.withLock { $0.closed } }

    // MARK: Pings and zombies

    /// Records a ping sent; returns its number.
    func pinged() -> Int {
        state.withLock { state in
            state.pingsSent += 1
            if state.firstPingAt == nil { state.firstPingAt = .now }
            state.lastPing = (state.pingsSent, .now)
            return state.pingsSent
        }
    }

    /// A pong for ping `number` (or the latest); false when no such ping was sent.
    func ponged(_ number: Int?) -> Bool {
        state.withLock { state in
            let number = number ?? state.pingsSent
            guard number >= 1, number <= state.pingsSent else { return false }
            state.pongs += 1
            state.lastPong = max(state.lastPong ?? 0, number)
            state.lastWrite = .now
            return true
        }
    }

    /// Applies the seed's zombie rules; returns the reason when this client has just become one.
    /// A client that no longer meets any rule is no zombie any more. (A write error ends the
    /// stream at once, so the seed's rule of more than three is never reached.)
    func checkZombie(now: ContinuousClock.Instant, inactivity: Duration, pingInterval: Duration) -> ZombieReason? {
        state.withLock { state in
            guard state.closed == nil else { return nil }
            var reason: ZombieReason?
            if state.fullCount >= 10 {
                reason = .queueConsistentlyFull
            } else if now - (state.writing ?? state.lastWrite) > inactivity, state.writing != nil || state.depth > 0 {
                // A write that has not finished, or events waiting that nobody takes.
                reason = .timeout
            } else if answersPings {
                let missed = state.pingsSent - (state.lastPong ?? 0)
                if missed > 3 {
                    reason = state.lastPong == nil ? .noPongResponse : .missedPings
                } else if state.lastPong == nil, let first = state.firstPingAt, now - first > pingInterval * 3 {
                    reason = .noPongResponse
                }
            }
            guard let reason else {
                state.zombie = nil
                return nil
            }
            guard state.zombie == nil else { return nil }
            state.zombie = (reason, Date())
            return reason
        }
    }

    public var zombie: (reason: ZombieReason, at: Date)? { state.withLock { $0.zombie } }

    /// This client's figures for `/events/stats`.
    public var figures: ClientFigures {
        state.withLock { state in
            ClientFigures(
                clientID: id, connectedAt: connectedAt, events: kinds.map { $0.map(\.rawValue).sorted() },
                queueDepth: state.depth, queueCapacity: capacity, eventsSent: state.sent,
                secondsSinceLastWrite: Self.seconds(ContinuousClock.now - state.lastWrite),
                writing: state.writing != nil, writeErrors: state.writeErrors, answersPings: answersPings,
                pingsSent: state.pingsSent, pongsReceived: state.pongs,
                zombie: state.zombie?.reason.rawValue)
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// One client in `/events/stats`.
public struct ClientFigures: Sendable, Codable {
    public let clientID: String
    public let connectedAt: Date
    public let events: [String]?
    public let queueDepth: Int
    public let queueCapacity: Int
    public let eventsSent: Int
    public let secondsSinceLastWrite: Double
    public let writing: Bool
    public let writeErrors: Int
    public let answersPings: Bool
    public let pingsSent: Int
    public let pongsReceived: Int
    public let zombie: String?

    enum CodingKeys: String, CodingKey {
        case clientID = "client_id", connectedAt = "connected_at", events, queueDepth = "queue_depth"
        case queueCapacity = "queue_capacity", eventsSent = "events_sent", secondsSinceLastWrite = "seconds_since_last_write"
        case writing, writeErrors = "write_errors", answersPings = "answers_pings", pingsSent = "pings_sent"
        case pongsReceived = "pongs_received", zombie
    }
}
