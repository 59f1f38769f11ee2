import AsyncHTTPClient
import Foundation
import Logging

/// Bounded exponential backoff with jitter for S3 requests: 5xx, 408, 429 and broken connections
/// are retried; authentication and other client errors are final.
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration

    public init(maxAttempts: Int = 6, baseDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(10)) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    public static let standard = RetryPolicy()

    /// Whether another attempt could succeed after `error`.
    static func isRetryable(_ error: any Error) -> Bool {
        switch error {
        case is CancellationError:
            return false
        case let error as ObjectStoreError:
            switch error.kind {
            case .connection: return true
            case .server: return error.status.map { $0 == 408 || $0 == 429 || $0 >= 500 } ?? true
            case .authentication, .notFound, .invalidRequest, .localFile: return false
            }
        default:
            // AsyncHTTPClient and NIO errors: refused, reset, closed mid-body, timed out.
            return true
        }
    }

    /// The delay before attempt `attempt + 1` (attempt counts from 1).
    func delay(after attempt: Int) -> Duration {
        let exponential = baseDelay * (1 << min(attempt - 1, 20))
        let capped = min(exponential, maxDelay)
        return capped * Double.random(in: 0.5...1.0)
    }

    /// Runs `operation` until it succeeds, fails with a final error, or the attempts run out.
    func run<T: Sendable>(_ what: String, logger: Logger, _ operation: (Int) async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await operation(attempt)
            } catch {
                guard Self.isRetryable(error), attempt < maxAttempts else {
                    throw Self.final(error, what: what, attempts: attempt)
                }
                let delay = delay(after: attempt)
                logger.warning("s3 request failed; retrying", metadata: [
                    "duckling.s3.operation": .string(what), "duckling.attempt": .stringConvertible(attempt),
                    "duckling.error": .string(Self.describe(error)), "duckling.retry_in": .stringConvertible(delay),
                ])
                try await Task.sleep(for: delay)
                attempt += 1
            }
        }
    }

    static func final(_ error: any Error, what: String, attempts: Int) -> any Error {
        switch error {
        case is CancellationError: return error
        case let error as ObjectStoreError:
            let suffix = attempts > 1 ? " (after \(attempts) attempts)" : ""
            return ObjectStoreError(error.kind, "\(what): \(error.message)\(suffix)", status: error.status, systemError: error.systemError)
        default:
            return ObjectStoreError(.connection, "\(what): \(describe(error)) (after \(attempts) attempts)")
        }
    }

    static func describe(_ error: any Error) -> String {
        (error as? ObjectStoreError)?.message ?? String(describing: error)
    }
}
