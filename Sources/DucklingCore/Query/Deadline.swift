/// The time limit passed.
struct DeadlineExceeded: Error {}

/// Runs `operation`, cancelling it if `deadline` passes first. On a timeout this returns only after
/// the operation has ended (for a query: after DuckDB has really stopped), then throws
/// ``DeadlineExceeded``.
func withDeadline<T: Sendable>(
    _ deadline: ContinuousClock.Instant,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(until: deadline, clock: .continuous)
            return nil
        }
        defer { group.cancelAll() }
        do {
            guard let first = try await group.next(), let value = first else {
                group.cancelAll()
                // Wait for the operation to wind down; its own error is the consequence of the timeout.
                while (try? await group.next()) != nil {}
                throw DeadlineExceeded()
            }
            return value
        } catch let error as DeadlineExceeded {
            throw error
        } catch {
            group.cancelAll()
            while (try? await group.next()) != nil {}
            throw error
        }
    }
}
