import DucklingCore
import Foundation
import Synchronization

/// The phase, bytes, MB/s and elapsed time of a backup or restore, redrawn on one terminal line;
/// nothing when standard output is not a terminal.
final class BackupProgressDisplay: Sendable {
    private let latest = Mutex<(progress: BackupProgress, since: ContinuousClock.Instant)?>(nil)
    private let isTerminal = isatty(STDOUT_FILENO) != 0

    func whileRunning<T: Sendable>(_ work: @escaping @Sendable (BackupProgressHandler?) async throws -> T) async throws -> T {
        guard isTerminal else { return try await work(nil) }
        let handler: BackupProgressHandler = { [self] progress in
            latest.withLock { current in
                let since = current.flatMap { $0.progress.phase == progress.phase ? $0.since : nil } ?? .now
                current = (progress, since)
            }
        }
        let drawer = Task { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                guard let (progress, since) = latest.withLock({ $0 }) else { continue }
                let elapsed = ContinuousClock.now - since
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                let megabytes = Double(progress.bytes) / 1_048_576
                let line = String(format: "\r\u{1B}[K%@: %.0f / %.0f MB, %.0f MB/s, %.1f s", progress.phase, megabytes,
                                  Double(progress.total) / 1_048_576, seconds > 0 ? megabytes / seconds : 0, seconds)
                FileHandle.standardOutput.write(Data(line.utf8))
            }
        }
        defer {
            drawer.cancel()
            FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8))
        }
        return try await work(handler)
    }
}
