public import AsyncHTTPClient
public import Logging
public import ServiceLifecycle
import DuckDBKit
public import Foundation
import NIOCore
import Synchronization

/// Sends every stored lineage event to `OPENLINEAGE_URL` (DESIGN.md §9), in the order they were
/// stored, from the forwarding queue in the lineage store: it survives restarts, and an event
/// leaves it only once the receiver has taken it (a 2xx; redirects are not followed, since a
/// redirected POST arrives as a GET without its event). A receiver that is down, slow, refusing
/// the key or redirecting is retried from the head of the queue with backoff doubling up to
/// `lineage.max_backoff`; an event the receiver rejects as malformed (400, 409, 413, 415, 422) is
/// logged and counted, never retried forever. Past `lineage.queue_size` waiting events, new
/// events are stored but not queued, and counted.
public final class LineageForwarder: Service, Sendable {
    let store: LineageStore
    let settings: LineageSettings
    let url: String
    let logger: Logger
    /// New events to send.
    private let work = EventWaiters()
    /// The server stopping (ends a backoff; new events do not).
    private let stopping = EventWaiters()
    private let state = Mutex(State())

    struct State {
        var pending = true
        var sent = 0
        var rejected = 0
        var dropped = 0
        var failedAttempts = 0
        /// The last attempt failed and will be retried.
        var retrying = false
        var lastError: String?
        var lastSentAt: Date?
        var queued: Int?
    }

    /// The forwarding figures, for `queue_status`, `/api/statistics` and the metrics.
    public struct Statistics: Codable, Sendable {
        public let url: String
        public let queued: Int?
        public let queueSize: Int
        public let sent: Int
        public let rejected: Int
        public let dropped: Int
        public let failedAttempts: Int
        public let lastError: String?
        public let lastSentAt: Date?

        enum CodingKeys: String, CodingKey {
            case url, queued, queueSize = "queue_size", sent, rejected, dropped, failedAttempts = "failed_attempts"
            case lastError = "last_error", lastSentAt = "last_sent_at"
        }
    }

    public init?(store: LineageStore, settings: LineageSettings, logger: Logger) {
        guard let url = settings.forwardURL else { return nil }
        self.store = store
        self.settings = settings
        self.url = url
        self.logger = logger
    }

    public var queueSize: Int { settings.queueSize }

    private var hasPending: Bool { state.withLock { $0.pending } }

    /// A new event is queued: forward it soon.
    func queuedOne() {
        state.withLock { state in
            state.pending = true
            state.queued = state.queued.map { $0 + 1 }
        }
        work.resumeAll()
    }

    /// An event was not queued: the queue is at its bound.
    func droppedOne() {
        let first = state.withLock { state -> Bool in
            state.dropped += 1
            return state.dropped == 1
        }
        if first {
            logger.warning("the lineage forwarding queue is full: new events are kept here but not forwarded",
                           metadata: ["duckling.queue_size": .stringConvertible(settings.queueSize)])
        }
    }

    public var statistics: Statistics {
        state.withLock { state in
            Statistics(url: settings.displayURL ?? "", queued: state.queued, queueSize: settings.queueSize, sent: state.sent,
                       rejected: state.rejected, dropped: state.dropped, failedAttempts: state.failedAttempts,
                       lastError: state.lastError, lastSentAt: state.lastSentAt)
        }
    }

    public func run() async throws {
        logger.info("forwarding lineage events", metadata: ["duckling.url": .string(settings.displayURL ?? "")])
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(Int64(settings.timeoutSeconds))))
        configuration.httpVersion = .http1Only
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await forward(with: client)
            } onGracefulShutdown: { [work, stopping] in
                work.resumeAll()
                stopping.resumeAll()
            }
        } onCancel: { [work, stopping] in
            work.resumeAll()
            stopping.resumeAll()
        }
        try? await client.shutdown()
    }

    private var stopped: Bool { Task.isShuttingDownGracefully || Task.isCancelled }

    private func forward(with client: HTTPClient) async {
        var backoff = Duration.milliseconds(500)
        /// Waits out a backoff (only stopping ends it early), and doubles it.
        func backOff() async {
            _ = await stopping.wait(within: backoff) { self.stopped }
            backoff = min(backoff * 2, .seconds(settings.maxBackoffSeconds))
        }
        while !stopped {
            let batch: [(seq: Int64, json: String)]
            do {
                state.withLock { $0.pending = false }
                batch = try await store.queued(limit: 100)
                let length = try await store.queueLength()
                state.withLock { $0.queued = length }
            } catch {
                if stopped { break }
                logger.warning("cannot read the lineage forwarding queue", metadata: ["duckling.error": .string("\(error)")])
                await backOff()
                continue
            }
            if batch.isEmpty {
                _ = await work.wait(within: .seconds(5)) { self.hasPending || self.stopped }
                continue
            }
            for event in batch {
                if stopped { break }
                // Retried from the queue's head: events arrive in the order they were stored.
                if await send(event.json, with: client) == .retry {
                    await backOff()
                    break
                }
                do {
                    try await store.dequeue(event.seq)
                    state.withLock { $0.queued = $0.queued.map { max(0, $0 - 1) } }
                    backoff = .milliseconds(500)
                } catch {
                    // Sent but still queued: it is sent again (the receiver keeps one copy) after a pause.
                    logger.warning("cannot take a forwarded event off the queue", metadata: ["duckling.error": .string("\(error)")])
                    await backOff()
                    break
                }
            }
        }
    }

    private enum Outcome { case sent, rejected, retry }

    /// Posts one event; what to do with it next.
    private func send(_ json: String, with client: HTTPClient) async -> Outcome {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        if let key = settings.apiKey { request.headers.add(name: "authorization", value: "Bearer \(key.value)") }
        request.body = .bytes(ByteBuffer(string: json))
        let outcome: Outcome
        let problem: String?
        do {
            // A request in flight is cancelled when the server stops: the event stays queued.
            let (status, body) = try await cancelWhenGracefulShutdown { [settings, request] in
                let response = try await client.execute(request, timeout: .seconds(Int64(settings.timeoutSeconds)))
                return (Int(response.status.code), try? await response.body.collect(upTo: 4096))
            }
            switch status {
            case 200..<300:
                (outcome, problem) = (.sent, nil)
            case 400, 409, 413, 415, 422:
                // The receiver's own words go to the log only: the figures show the status.
                let text = body.map { String(buffer: $0) } ?? ""
                logger.error("the receiver refused a lineage event", metadata: ["duckling.status": .stringConvertible(status),
                                                                                 "duckling.answer": .string(String(text.prefix(500)))])
                (outcome, problem) = (.rejected, "the receiver refused an event (\(status))")
            case 300..<400:
                (outcome, problem) = (.retry, "the receiver answered \(status), a redirect: set OPENLINEAGE_URL to where it points")
            default:
                (outcome, problem) = (.retry, "the receiver answered \(status)")
            }
        } catch {
            if stopped { return .retry }
            (outcome, problem) = (.retry, "\(error)")
        }
        let first = state.withLock { state -> Bool in
            let wasFailing = state.retrying
            state.lastError = problem
            state.retrying = outcome == .retry
            switch outcome {
            case .sent:
                state.sent += 1
                state.lastSentAt = Date()
            case .rejected:
                state.rejected += 1
            case .retry:
                state.failedAttempts += 1
            }
            return outcome == .retry && !wasFailing
        }
        if outcome == .rejected, let problem {
            logger.error("a lineage event was not forwarded", metadata: ["duckling.error": .string(problem)])
        } else if first, let problem {
            logger.warning("cannot forward lineage events yet; retrying with backoff", metadata: ["duckling.error": .string(problem)])
        }
        return outcome
    }
}
