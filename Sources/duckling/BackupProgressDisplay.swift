import DucklingCore
import Foundation
import Synchronization

/// The phase, bytes, MB/s and elapsed time of a backup or restore step, on one terminal line.
final class BackupProgressDisplay: Sendable {
    private let latest = Mutex<(progress: BackupProgress, since: ContinuousClock.Instant)?>(nil)

    func whileRunning<T: Sendable>(_ work: @escaping @Sendable (BackupProgressHandler?) async throws -> T) async throws -> T {
        guard TerminalLine.isTerminal else { return try await work(nil) }
        let handler: BackupProgressHandler = { [self] progress in
            latest.withLock { current in
                let since = current.flatMap { $0.progress.phase == progress.phase ? $0.since : nil } ?? .now
                current = (progress, since)
            }
        }
        return try await TerminalLine.whileRunning(render: { [self] _ in
            guard let (progress, since) = latest.withLock({ $0 }) else { return nil }
            let elapsed = ContinuousClock.now - since
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let megabytes = Double(progress.bytes) / 1_048_576
            return String(format: "%@: %.0f / %.0f MB, %.0f MB/s, %.1f s", progress.phase, megabytes,
                          Double(progress.total) / 1_048_576, seconds > 0 ? megabytes / seconds : 0, seconds)
        }) { try await work(handler) }
    }
}
