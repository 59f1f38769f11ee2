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
        let opened = try await SingleDatabase.open(db, options: options, logger: logger) { [db] database in
            for name in datasets where database.dataset(name) == nil {
                printError("error: no dataset '\(name)' in database '\(db)' (datasets: \(database.datasets.map(\.name).joined(separator: ", ")))")
                throw ExitCode(1)
            }
        }
        let names = datasets.isEmpty ? opened.settings.datasets.map(\.name) : datasets
        let full = self.full
        let failed = try await opened.use { opened in
            let engine = opened.sync
            try await engine.ensurePrepared()
            var failed = false
            for name in names {
                let claim = try engine.claim(name, full: full, trigger: .cli)
                // Rows, rows per second and elapsed time of the running sync.
                let result = try await TerminalLine.whileRunning(render: { elapsed in
                    let rows = claim.progressRows
                    return String(format: "%@: %d rows, %.0f rows/s, %.1f s", name, rows, elapsed > 0 ? Double(rows) / elapsed : 0, elapsed)
                }) { await engine.execute(claim) }
                print(Self.summary(result))
                failed = failed || result.status != .succeeded
            }
            return failed
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
