import Dispatch

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
}
