import Dispatch
public import Foundation
public import Logging

/// Runs blocking file work on Dispatch's threads, off Swift's cooperative pool.
public enum BlockingIO {
    private static let queue = DispatchQueue(label: "duckling.blocking-io", attributes: .concurrent)

    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try body() })
            }
        }
    }

    /// Runs blocking work that cannot fail (a `stat`, say).
    public static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: body()) }
        }
    }

    /// Removes a file on the blocking threads without waiting (removing a large file takes a while).
    public static func removeInBackground(_ url: URL) {
        queue.async { try? FileManager.default.removeItem(at: url) }
    }

    /// Runs cleanup work whose failure is worth a warning but not an error.
    public static func runLogged(_ logger: Logger, _ body: @escaping @Sendable () throws -> Void) async {
        do {
            try await run(body)
        } catch {
            logger.warning("cleanup failed", metadata: ["duckling.error": .string(String(describing: error))])
        }
    }
}
