public import Logging
public import ServiceLifecycle
import Foundation

/// Runs syncs in the background (DESIGN.md §5): every dataset when it is due, and the runs the API
/// asks for. On graceful shutdown it cancels running syncs (each rolls back) and returns once they
/// have ended.
public final class SyncScheduler: Service, Sendable {
    public let engines: [SyncEngine]
    private let logger: Logger
    private let events: AsyncStream<SyncClaim>
    private let submissions: AsyncStream<SyncClaim>.Continuation
    private let startup: Bool

    /// `startup`: datasets in `sync_mode: startup` run as soon as the scheduler starts.
    public init(engines: [SyncEngine], startup: Bool = true, logger: Logger) {
        self.engines = engines
        self.logger = logger
        self.startup = startup
        (events, submissions) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// The engine of database `id`.
    public func engine(for id: String) -> SyncEngine? {
        engines.first { $0.database.id == id }
    }

    /// Runs a claimed sync in the background. Once the scheduler has stopped, the claim is
    /// cancelled at once, so nobody waits for a run that will never start.
    public func submit(_ claim: SyncClaim) {
        if case .terminated = submissions.yield(claim) {
            engines.first { $0.isClaimed(claim) }?.abandon(claim)
        }
    }

    public func run() async throws {
        for engine in engines {
            engine.planFirstRuns(startup: startup)
            await engine.retryPreparationIfDue(now: Date())
        }
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    // Look for due datasets once a second; the check is a few comparisons.
                    while !Task.isCancelled && !Task.isShuttingDownGracefully {
                        for engine in self.engines {
                            // A preparation that failed (the file was busy, say) is tried again.
                            await engine.retryPreparationIfDue(now: Date())
                            for claim in engine.claimDue(at: Date()) { self.submit(claim) }
                        }
                        try? await Task.sleep(for: .seconds(1))
                    }
                }
                for await claim in events {
                    guard let engine = engines.first(where: { $0.settings.dataset(claim.dataset) != nil && $0.isClaimed(claim) }) else { continue }
                    // Claims still queued when shutdown began are cancelled, not started.
                    if Task.isShuttingDownGracefully {
                        engine.abandon(claim)
                    } else {
                        group.addTask { _ = await engine.execute(claim) }
                    }
                }
                // Not group.cancelAll(): running syncs were interrupted by the shutdown handler and
                // must still roll back and record that they were cancelled, which a cancelled task
                // could not. The ticker ends by itself within a second.
            }
            for engine in engines { await engine.close() }
        } onGracefulShutdown: { [engines, submissions] in
            submissions.finish()
            for engine in engines { engine.cancelAll() }
        }
    }
}
