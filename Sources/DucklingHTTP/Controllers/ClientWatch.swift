import Hummingbird
import NIOCore

/// Runs work on behalf of a client and cancels it if the client goes away meanwhile, so a query
/// nobody waits for any more is stopped (and its connection freed) at once.
///
/// Work that ends within a short grace period never looks up the connection's
/// ``ClientCloseWatcher`` (a hop to the event loop), so quick queries pay nothing.
enum ClientWatch {
    static let grace = Duration.milliseconds(100)

    static func untilDone<T: Sendable>(_ channel: any Channel, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let (done, finished) = AsyncStream<Never>.makeStream()
        let work = Task {
            defer { finished.finish() }
            return try await operation()
        }
        return try await withTaskCancellationHandler {
            if await !completes(done, within: grace),
               // Always installed by buildApplication; without it the work just runs to its deadline.
               let watcher = try? await channel.pipeline.handler(type: ClientCloseWatcher.self).get() {
                let token = watcher.onClose { work.cancel() }
                defer { watcher.remove(token) }
                return try await work.value
            }
            return try await work.value
        } onCancel: {
            work.cancel()
        }
    }

    /// True if `done` finishes before `limit` passes.
    private static func completes(_ done: AsyncStream<Never>, within limit: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in done {}
                return !Task.isCancelled
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}
