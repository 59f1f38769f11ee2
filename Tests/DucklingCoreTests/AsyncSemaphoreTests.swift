@testable import DucklingCore
import Testing

@Suite struct AsyncSemaphoreTests {
    @Test func waitersAreServedInOrderAndTheQueueIsBounded() async throws {
        let semaphore = AsyncSemaphore(permits: 1)
        try await semaphore.acquire()
        let order = OrderLog()
        let first = Task { try await semaphore.acquire(queueLimit: 2); await order.append(1); semaphore.release() }
        try await Task.sleep(for: .milliseconds(20))
        let second = Task { try await semaphore.acquire(queueLimit: 2); await order.append(2); semaphore.release() }
        try await Task.sleep(for: .milliseconds(20))
        #expect(semaphore.usage.waiting == 2)
        await #expect(throws: AsyncSemaphore.QueueFull.self) { try await semaphore.acquire(queueLimit: 2) }
        semaphore.release()
        try await first.value
        try await second.value
        #expect(await order.values == [1, 2])
        #expect(semaphore.usage.inUse == 0)
    }

    @Test func aCancelledWaiterLeavesTheQueue() async throws {
        let semaphore = AsyncSemaphore(permits: 1)
        try await semaphore.acquire()
        let waiter = Task { try await semaphore.acquire() }
        try await Task.sleep(for: .milliseconds(20))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(semaphore.usage.waiting == 0)
        semaphore.release()
        #expect(semaphore.usage.inUse == 0)
    }
}

actor OrderLog {
    var values: [Int] = []
    func append(_ value: Int) { values.append(value) }
}
