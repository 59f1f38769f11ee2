import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// The reference of bench/events: the least an SSE fan-out on Hummingbird does, in the same
/// binary layout and on the same loopback. `GET /stream` keeps a buffer per client; `POST
/// /broadcast?count=N` makes N frames of the same shape as Duckling's (`id:`, `event:`,
/// `data: {"timestamp": …, "data": …}`) and appends each to every client's buffer, which the
/// client's response writes out whole each time it wakes. No history, no bound, no zombie rules,
/// no filters: what Duckling's bus costs beyond this is what the benchmark shows.
///   EventsReference PORT
@main
struct EventsReference {
    static func main() async throws {
        let port = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 3_999
        let hub = Hub()
        let router = Router()
        router.get("/stream") { _, _ -> Response in
            let client = hub.connect()
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
                            body: ResponseBody { writer in
                defer { hub.disconnect(client) }
                while let bytes = await client.next() {
                    try await writer.write(ByteBuffer(bytes: bytes))
                }
                try await writer.finish(nil)
            })
        }
        router.post("/broadcast") { request, _ -> String in
            let count = Int(request.uri.queryParameters.get("count") ?? "1") ?? 1
            hub.publish(count: count)
            return "{\"count\": \(count)}"
        }
        router.get("/stats") { _, _ -> String in "{\"clients\": \(hub.clients)}" }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await app.runService()
    }
}

final class Client: Sendable {
    private let state = Mutex<(buffer: [UInt8], waiter: CheckedContinuation<[UInt8]?, Never>?)>(([], nil))

    func append(_ frame: [UInt8]) {
        let waiter = state.withLock { state -> (CheckedContinuation<[UInt8]?, Never>, [UInt8])? in
            guard let waiter = state.waiter else {
                state.buffer += frame
                return nil
            }
            state.waiter = nil
            return (waiter, frame)
        }
        waiter.map { $0.0.resume(returning: $0.1) }
    }

    /// Everything appended since the last call, waiting until there is some.
    func next() async -> [UInt8]? {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> [UInt8]? in
                if !state.buffer.isEmpty {
                    defer { state.buffer = [] }
                    return state.buffer
                }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

final class Hub: Sendable {
    private let state = Mutex<(next: UInt64, clients: [ObjectIdentifier: Client])>((1, [:]))

    func connect() -> Client {
        let client = Client()
        state.withLock { $0.clients[ObjectIdentifier(client)] = client }
        return client
    }

    func disconnect(_ client: Client) {
        _ = state.withLock { $0.clients.removeValue(forKey: ObjectIdentifier(client)) }
    }

    var clients: Int { state.withLock { $0.clients.count } }

    func publish(count: Int) {
        for _ in 0..<count {
            let timestamp = String(format: "%.6f", Date().timeIntervalSince1970)
            let (clients, frame) = state.withLock { state -> ([Client], [UInt8]) in
                defer { state.next += 1 }
                let frame = Array("id: \(state.next)\nevent: error\ndata: {\"timestamp\": \(timestamp), \"data\": {\"bench\":true}}\n\n".utf8)
                return (Array(state.clients.values), frame)
            }
            for client in clients { client.append(frame) }
        }
    }
}
