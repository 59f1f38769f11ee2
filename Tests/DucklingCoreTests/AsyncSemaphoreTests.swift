@testable import DucklingCore
import Testing

@Suite struct AsyncSemaphoreTests {
    /// Waits until `count` callers wait on `semaphore`.
    private func waiting(_ semaphore: AsyncSemaphore, _ count: Int) async {
        while semaphore.usage.waiting < count { await Task.yield() }
    }

    @Test func waitersAreServedInOrderAndTheQueueIsBounded() async throws {
        let semaphore = AsyncSemaphore(permits: 1)
        try await semaphore.acquire()
        let order = OrderLog()
        let first = Task { try await semaphore.acquire(queueLimit: 2); await order.append(1); semaphore.release() }
        await waiting(semaphore, 1)
        let second = Task { try await semaphore.acquire(queueLimit: 2); await order.append(2); semaphore.release() }
        await waiting(semaphore, 2)
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
        await waiting(semaphore, 1)
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
