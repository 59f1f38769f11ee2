import Foundation

/// One line redrawn on the terminal while work runs (progress of a sync or a backup); nothing when
/// standard output is not a terminal.
enum TerminalLine {
    static var isTerminal: Bool { isatty(STDOUT_FILENO) != 0 }

    /// Runs `work`, redrawing `render(elapsed seconds)` every 250 ms until it ends; a nil line is skipped.
    static func whileRunning<T: Sendable>(render: @escaping @Sendable (Double) -> String?, _ work: () async throws -> T) async throws -> T {
        guard isTerminal else { return try await work() }
        let started = ContinuousClock.now
        let drawer = Task {
            while true {
                do {
                    try await Task.sleep(for: .milliseconds(250))
                } catch {
                    return
                }
                let elapsed = ContinuousClock.now - started
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                if let line = render(seconds) {
                    FileHandle.standardOutput.write(Data(("\r\u{1B}[K" + line).utf8))
                }
            }
        }
        let result: Result<T, any Error>
        do {
            result = .success(try await work())
        } catch {
            result = .failure(error)
        }
        // The last line is cleared only once the drawer has stopped drawing.
        drawer.cancel()
        await drawer.value
        FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8))
        return try result.get()
    }
}
