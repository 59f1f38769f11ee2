import ArgumentParser
import DucklingCore
import Foundation
import Logging

struct Sync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sync datasets from their sources now, without the server (not while a server holds the database).")

    @Argument(help: "Datasets to sync (default: all of the database).")
    var datasets: [String] = []

    @Option(help: "The configured database.")
    var db: String = "default"

    @Flag(help: "Rebuild in full instead of syncing incrementally.")
    var full = false

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let logger = bootstrapLogging(defaultLevel: .warning)
        let datasets = self.datasets
        let opened = try SingleDatabase.open(db, options: options, logger: logger) { [db] database in
            for name in datasets where database.dataset(name) == nil {
                printError("error: no dataset '\(name)' in database '\(db)' (datasets: \(database.datasets.map(\.name).joined(separator: ", ")))")
                throw ExitCode(1)
            }
        }
        defer { opened.close() }
        let names = datasets.isEmpty ? opened.settings.datasets.map(\.name) : datasets
        let engine = opened.sync
        try await engine.prepare(startup: false)

        var failed = false
        for name in names {
            let claim = try engine.claim(name, full: full, trigger: .cli)
            let display = ProgressDisplay(dataset: name, claim: claim)
            let result = try await display.whileRunning { await engine.execute(claim) }
            print(Self.summary(result))
            failed = failed || result.status != .succeeded
        }
        if failed { throw ExitCode(1) }
    }

    static func summary(_ result: SyncRunResult) -> String {
        let seconds = String(format: "%.2f s", Double(result.durationMs) / 1000)
        switch result.status {
        case .succeeded:
            return "\(result.dataset): \(result.syncType) sync succeeded in \(seconds): \(result.rowsRead) rows read, "
                + "\(result.rows.map(String.init) ?? "?") rows in the copy\(result.truncated ? " (truncated at max_sync_rows)" : "")"
        case .failed, .cancelled:
            return "\(result.dataset): \(result.status.rawValue) after \(seconds): \(result.error ?? "unknown error")"
        }
    }
}

/// Rows, rows per second and elapsed time of a running sync, redrawn on one terminal line; nothing
/// when standard output is not a terminal.
struct ProgressDisplay {
    let dataset: String
    let claim: SyncClaim

    func whileRunning<T: Sendable>(_ work: @escaping @Sendable () async -> T) async throws -> T {
        guard isatty(STDOUT_FILENO) != 0 else { return await work() }
        return await withTaskGroup(of: T?.self) { group in
            group.addTask { await work() }
            group.addTask { [dataset, claim] in
                let started = ContinuousClock.now
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(200))
                    let elapsed = Double((ContinuousClock.now - started).components.attoseconds) / 1e18
                        + Double((ContinuousClock.now - started).components.seconds)
                    let rows = claim.progressRows
                    let line = String(format: "\r%@: %d rows, %.0f rows/s, %.1f s", dataset, rows, elapsed > 0 ? Double(rows) / elapsed : 0, elapsed)
                    FileHandle.standardOutput.write(Data(line.utf8))
                }
                return nil
            }
            var value: T?
            for await result in group {
                if let result {
                    value = result
                    group.cancelAll()
                }
            }
            FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8))
            return value!
        }
    }
}
