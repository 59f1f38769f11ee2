@testable import DucklingCore
import Foundation
import Logging
import Synchronization
import Testing

/// The bus on its own: order, filters, history and resume, bounded queues.
@Suite struct EventBusTests {
    func bus(history: Int = 100, historyBytes: Int = 64 << 20, queue: Int = 10) -> EventBus {
        var settings = EventSettings()
        settings.historySize = history
        settings.historyBytes = historyBytes
        settings.clientQueueSize = queue
        return EventBus(settings: settings, logger: Logger(label: "test"))
    }

    struct Payload: Codable, Sendable { let n: Int }

    /// The ids of the events waiting in `subscription`, without waiting for more.
    func drain(_ subscription: EventSubscription) async -> [UInt64] {
        var ids: [UInt64] = []
        while subscription.figures.queueDepth > 0, let items = await subscription.next() {
            for case .event(let event) in items { ids.append(event.id) }
        }
        return ids
    }

    @Test func eventsReachEveryClientThatWantsThemInOrder() async throws {
        let bus = bus(queue: 1000)
        let all = try bus.subscribe(kinds: nil, lastEventID: nil, answersPings: false) { _ in }
        let jobs = try bus.subscribe(kinds: [.jobStatus], lastEventID: nil, answersPings: false) { _ in }
        var published: [UInt64] = []
        await withTaskGroup(of: [UInt64].self) { group in
            for writer in 0..<4 {
                group.addTask {
                    (0..<100).compactMap { n in bus.publish(writer == 0 ? .jobStatus : .error, Payload(n: n))?.id }
                }
            }
            for await ids in group { published += ids }
        }
        #expect(await drain(all.subscription) == published.sorted())
        #expect(await drain(jobs.subscription).count == 100)
        let frame = String(decoding: try #require(bus.publish(.error, Payload(n: 7))).frame, as: UTF8.self)
        #expect(frame.hasPrefix("id: ") && frame.contains("\nevent: error\ndata: {\"timestamp\": ") && frame.hasSuffix(", \"data\": {\"n\":7}}\n\n"), "\(frame)")
    }

    @Test func aResumingClientGetsExactlyWhatItMissedOrAGap() async throws {
        let bus = bus(history: 5)
        let ids = (0..<8).compactMap { bus.publish(.error, Payload(n: $0))?.id }
        let resumed = try bus.subscribe(kinds: nil, lastEventID: String(ids[4]), answersPings: false) { _ in }
        #expect(resumed.gap == nil && resumed.replay == 3)
        #expect(await drain(resumed.subscription) == Array(ids[5...]))
        let current = try bus.subscribe(kinds: nil, lastEventID: String(ids[7]), answersPings: false) { _ in }
        #expect(current.gap == nil && current.replay == 0)
        for old in [String(ids[1]), "12", "not-a-number", String(ids[7] + 10)] {
            let gone = try bus.subscribe(kinds: nil, lastEventID: old, answersPings: false) { _ in }
            #expect(gone.gap?.requested == old && gone.gap?.oldestAvailable == String(ids[3]) && gone.replay == 0, "\(old)")
        }
        // The oldest kept event's predecessor misses nothing.
        let edge = try bus.subscribe(kinds: nil, lastEventID: String(ids[2]), answersPings: false) { _ in }
        #expect(edge.gap == nil && edge.replay == 5)
    }

    @Test func theHistoryIsBoundedInBytesToo() async throws {
        struct Big: Codable, Sendable { let text: String }
        let bus = bus(history: 100, historyBytes: 1 << 20)
        let ids = (0..<5).compactMap { _ in bus.publish(.error, Big(text: String(repeating: "x", count: 400_000)))?.id }
        let figures = bus.statistics
        #expect(figures.history == 2 && figures.historyBytes <= 1 << 20, "\(figures.history) \(figures.historyBytes)")
        #expect(figures.oldestEventID == String(ids[3]))
    }

    @Test func aFullQueueDisconnectsOnlyItsClient() async throws {
        let bus = bus(queue: 3)
        let closed = ClosedReasons()
        let slow = try bus.subscribe(kinds: nil, lastEventID: nil, answersPings: false) { closed.add($0) }
        let fast = try bus.subscribe(kinds: nil, lastEventID: nil, answersPings: false) { _ in }
        for n in 0..<3 { bus.publish(.error, Payload(n: n)) }
        // Full, but nothing is lost yet.
        #expect(slow.subscription.closeReason == nil)
        #expect(await drain(fast.subscription).count == 3)
        bus.publish(.error, Payload(n: 3))
        #expect(slow.subscription.closeReason == .queueFull && closed.all == [.queueFull])
        #expect(await slow.subscription.next() == nil)
        bus.publish(.error, Payload(n: 4))
        #expect(await drain(fast.subscription).count == 2)
        let figures = bus.statistics
        // The slow client is gone from the bus, with the three events it had waiting.
        #expect(figures.clients == 1 && figures.evictions["queue_full"] == 1 && figures.eventsPublished == 5)
        #expect(figures.eventsDropped == 3, "\(figures.eventsDropped)")
    }

    @Test func aReplayLargerThanTheQueueIsDeliveredAndLiveEventsStillFit() async throws {
        let bus = bus(history: 100, queue: 5)
        let ids = (0..<50).compactMap { bus.publish(.error, Payload(n: $0))?.id }
        let resumed = try bus.subscribe(kinds: nil, lastEventID: String(ids[9]), answersPings: false) { _ in }
        #expect(resumed.replay == 40)
        // Live events fit beside the replayed backlog, up to the queue's bound.
        let live = (0..<5).compactMap { bus.publish(.error, Payload(n: 100 + $0))?.id }
        #expect(resumed.subscription.closeReason == nil)
        #expect(await drain(resumed.subscription) == Array(ids[10...]) + live)
    }

    @Test func anIdThatCannotBeInTheHistoryIsAGapNotACrash() async throws {
        let bus = bus()
        for n in 0..<3 { bus.publish(.error, Payload(n: n)) }
        for id in [String(UInt64.max), String(UInt64.max - 1), "0", "-5", "18446744073709551616"] {
            let opening = try bus.subscribe(kinds: nil, lastEventID: id, answersPings: false) { _ in }
            #expect(opening.gap != nil && opening.replay == 0, "\(id)")
        }
    }

    @Test func aClientThatCatchesUpIsNoZombieAnyMore() async throws {
        let bus = bus(queue: 100)
        let steady = try bus.subscribe(kinds: nil, lastEventID: nil, answersPings: false) { _ in }
        // 100 events: the last eleven find the queue at nine tenths of its bound or more.
        for n in 0..<100 { _ = bus.publish(.error, Payload(n: n)) }
        #expect(steady.subscription.checkZombie(now: .now, inactivity: .seconds(120), pingInterval: .seconds(30)) == .queueConsistentlyFull)
        #expect(steady.subscription.zombie?.reason == .queueConsistentlyFull)
        _ = await drain(steady.subscription)
        // It keeps up now: events go straight to its waiting writer.
        for n in 0..<3 {
            let waiting = Task { await steady.subscription.next() }
            try await Task.sleep(for: .milliseconds(20))
            _ = bus.publish(.error, Payload(n: n))
            _ = await waiting.value
        }
        #expect(steady.subscription.checkZombie(now: .now, inactivity: .seconds(120), pingInterval: .seconds(30)) == nil)
        #expect(steady.subscription.zombie == nil)
    }

    @Test func aStoppedBusEndsEveryStreamAndRefusesNewOnes() async throws {
        let bus = bus()
        let open = try bus.subscribe(kinds: nil, lastEventID: nil, answersPings: false) { _ in }
        bus.stop()
        #expect(await open.subscription.next() == nil)
        #expect(throws: EventBus.SubscribeError.self) { try bus.subscribe(kinds: nil, lastEventID: nil, answersPings: false) { _ in } }
        #expect(bus.publish(.error, Payload(n: 1)) == nil)
    }
}

final class ClosedReasons: Sendable {
    private let reasons = Mutex<[EventSubscription.CloseReason]>([])
    func add(_ reason: EventSubscription.CloseReason) { reasons.withLock { $0.append(reason) } }
    var all: [EventSubscription.CloseReason] { reasons.withLock { $0 } }
}
