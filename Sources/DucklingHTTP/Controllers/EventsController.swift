import DucklingCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

/// The seed's Server-Sent Events endpoints (DESIGN.md §9): four streams over the one bus, and
/// their management. Every endpoint needs a key for every database (events tell of all of them);
/// a read-only key may subscribe and answer pings, and only the admin key broadcasts or disconnects.
struct EventsController {
    let bus: EventBus
    let monitor: EventMonitor

    /// The kinds each stream carries (nil: all); `events=` narrows them further.
    static let streams: [(path: String, kinds: Set<EventKind>?)] = [
        ("/stream", nil),
        ("/lineage", [.lineageEvent, .error]),
        ("/jobs", [.jobStatus, .error]),
        ("/metrics", [.systemMetric, .queueStatus, .error]),
    ]

    static let lastEventID = HTTPField.Name("Last-Event-ID")!
    static let accelBuffering = HTTPField.Name("X-Accel-Buffering")!
    static let clientID = HTTPField.Name("X-Duckling-Client-Id")!

    func addRoutes(to routes: RouteTable) {
        let read = routes.group("/events", .read, scope: .everyDatabase)
        for stream in Self.streams {
            read.get(stream.path) { request, context in try open(request, context, kinds: stream.kinds) }
        }
        read.get("/stats") { _, _ in EventStatsResponse(statistics: bus.statistics) }
        read.get("/zombies") { _, _ in ZombiesResponse(zombies: bus.zombies) }
        read.post("/pong") { request, context in
            let pong = try await RequestBodyReader.decode(PongRequest.self, from: request, context: context, limit: 4096)
            guard monitor.pong(clientID: pong.clientID, ping: pong.ping) else {
                throw APIError.notFound("client_not_found", "no connected client '\(pong.clientID)' was sent that ping")
            }
            return MessageResponse(success: true, message: "pong received")
        }
        let admin = routes.group("/events", .admin, scope: .everyDatabase)
        admin.post("/broadcast") { request, context in
            let (kind, data, count) = try await Self.broadcast(request, context)
            var first: BusEvent?
            var last: BusEvent?
            for _ in 0..<count {
                guard let event = bus.publish(kind, json: data) else {
                    throw APIError(.serviceUnavailable, code: "events_stopped", message: "the server is stopping")
                }
                first = first ?? event
                last = event
            }
            return BroadcastResponse(eventID: String(first?.id ?? 0), lastEventID: String(last?.id ?? 0), count: count,
                                     recipients: bus.subscribers.filter { $0.wants(kind) }.count)
        }
        admin.delete("/clients/:client") { _, context in
            let id = try context.parameters.require("client")
            guard bus.disconnect(id) else { throw APIError.notFound("client_not_found", "no connected client '\(id)'") }
            return MessageResponse(success: true, message: "client \(id) disconnected")
        }
        admin.post("/zombies/cleanup") { _, _ in
            ZombieCleanupResponse(disconnected: monitor.cleanUpZombies())
        }
    }

    /// Opens a stream: `retry:`, a comment naming the client, a marker if the asked-for history is
    /// gone, the missed events, then live events and heartbeats until the client leaves, its
    /// queue overflows, it is disconnected or the server stops.
    private func open(_ request: Request, _ context: DucklingRequestContext, kinds allowed: Set<EventKind>?) throws -> Response {
        var kinds = allowed
        if let list = request.uri.queryParameters.get("events") {
            switch EventKind.parseList(list) {
            case .failure(let unknown):
                throw APIError.badRequest("invalid_event_type", "unknown event types \(unknown.names.joined(separator: ", ")); known: \(EventKind.allCases.map(\.rawValue).joined(separator: ", "))")
            case .success(let asked?):
                kinds = allowed.map { $0.intersection(asked) } ?? asked
                if kinds?.isEmpty == true {
                    throw APIError.badRequest("invalid_event_type", "this stream carries none of \(list)")
                }
            case .success(nil):
                break
            }
        }
        let lastEventID = request.headers[Self.lastEventID] ?? request.uri.queryParameters.get("last_event_id")
        let answersPings = request.uri.queryParameters.get("pong").map { ["true", "1", "yes"].contains($0.lowercased()) } ?? false
        let channel = context.channel
        let opening: EventBus.Opening
        do throws(EventBus.SubscribeError) {
            opening = try bus.subscribe(kinds: kinds, lastEventID: lastEventID, answersPings: answersPings) { reason in
                switch reason {
                case .queueFull, .writeError, .clientClosed:
                    // The client is not taking what was written, or has gone: only closing the
                    // connection ends a write it does not take.
                    channel.close(promise: nil)
                case .disconnected, .zombie, .shutdown:
                    // The stream ends cleanly (and, by `Connection: close`, its connection with
                    // it); one whose last write is stuck is closed a little later.
                    channel.eventLoop.scheduleTask(in: .seconds(5)) { channel.close(promise: nil) }
                }
            }
        } catch {
            switch error {
            case .tooManyClients(let limit):
                throw APIError(.serviceUnavailable, code: "too_many_clients", message: "\(limit) event streams are open, the most events.max_clients allows")
            case .stopped:
                throw APIError(.serviceUnavailable, code: "events_stopped", message: "the server is stopping")
            }
        }
        let subscription = opening.subscription
        let watcher = ClientCloseWatcher.watcher(for: channel)
        let token = watcher?.onClose { [bus] in bus.end(subscription, .clientClosed) }
        var first = Array("retry: \(bus.settings.retryMilliseconds)\n: client \(subscription.id)\n\n".utf8)
        if let gap = opening.gap { first += Self.marker(gap) }
        let preamble = first
        let headers: HTTPFields = [
            .contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-store", .connection: "close",
            Self.accelBuffering: "no", Self.clientID: subscription.id,
        ]
        return Response(status: .ok, headers: headers, body: ResponseBody { [bus] writer in
            defer {
                watcher?.remove(token)
                bus.end(subscription, .shutdown)
            }
            try await withGracefulShutdownHandler {
                try await writer.write(ByteBuffer(bytes: preamble))
                while let items = await subscription.next() {
                    var buffer = ByteBuffer()
                    var events = 0
                    for item in items {
                        switch item {
                        case .event(let event):
                            buffer.writeBytes(event.frame)
                            events += 1
                        case .frame(let frame):
                            buffer.writeBytes(frame)
                        }
                    }
                    do {
                        try await writer.write(buffer)
                    } catch {
                        subscription.writeFailed()
                        throw error
                    }
                    subscription.written(events: events)
                }
                try await writer.finish(nil)
            } onGracefulShutdown: {
                subscription.close(.shutdown)
            }
        })
    }
}

extension EventsController {
    /// The most events one broadcast publishes.
    static let maxBroadcastCount = 100_000

    /// `{"event_type": …, "data": any JSON, "count": n}`: the kind, the data's JSON on one line, and
    /// how many events of it to publish (1 unless given; the benchmark's bursts).
    static func broadcast(_ request: Request, _ context: DucklingRequestContext) async throws -> (EventKind, [UInt8], Int) {
        let body = try await RequestBodyReader.collect(request, context: context, limit: 1 << 20)
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView), options: [.fragmentsAllowed]) as? [String: Any] else {
            throw APIError.badRequest("invalid_request", "expected a JSON object with event_type and data")
        }
        guard let name = object["event_type"] as? String, let kind = EventKind(rawValue: name) else {
            throw APIError.badRequest("invalid_event_type", "event_type must be one of \(EventKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let value = object["data"] ?? NSNull()
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes]) else {
            throw APIError.badRequest("invalid_request", "data is not JSON")
        }
        // JSONDecoder, not the object: it refuses true, 1.5 and "3" for a whole number.
        struct Count: Decodable { let count: Int? }
        let count = (try? JSONDecoder().decode(Count.self, from: Data(body.readableBytesView)))?.count ?? (object["count"] == nil ? 1 : 0)
        guard (1...maxBroadcastCount).contains(count) else {
            throw APIError.badRequest("invalid_request", "count must be a whole number from 1 to \(maxBroadcastCount)")
        }
        return (kind, Array(data), count)
    }

    /// The unnumbered `history_gap` event a resuming client gets when what it missed is gone.
    static func marker(_ gap: EventBus.Gap) -> [UInt8] {
        BusEvent.frame(id: nil, event: "history_gap", timestamp: Date().timeIntervalSince1970, data: BusEvent.json(gap))
    }
}

struct EventStatsResponse: ResponseEncodable {
    let statistics: EventStatistics

    func encode(to encoder: any Encoder) throws {
        try statistics.encode(to: encoder)
    }
}

struct ZombiesResponse: ResponseEncodable {
    let zombies: ZombieStatistics

    func encode(to encoder: any Encoder) throws {
        try zombies.encode(to: encoder)
    }
}

struct PongRequest: Decodable {
    let clientID: String
    let ping: Int?
    enum CodingKeys: String, CodingKey { case clientID = "client_id", ping }
}

struct BroadcastResponse: ResponseEncodable {
    let success = true
    /// The first event's id, and the last one's when `count` is more than 1.
    let eventID: String
    let lastEventID: String
    let count: Int
    let recipients: Int
    enum CodingKeys: String, CodingKey { case success, eventID = "event_id", lastEventID = "last_event_id", count, recipients }
}

struct ZombieCleanupResponse: ResponseEncodable {
    let success = true
    let disconnected: [String]
}
