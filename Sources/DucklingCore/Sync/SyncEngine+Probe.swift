import DuckDBKit
import Foundation

/// Whether one source answered a health check.
public struct SourceProbe: Sendable, Codable, Equatable {
    public let source: String
    public let reachable: Bool
    public let milliseconds: Int
    /// Why it is unreachable (passwords masked).
    public let error: String?
}

extension SyncEngine {
    /// Reaches every source of the database's datasets: attaches it read-only (with a connect
    /// timeout of at most `timeoutSeconds`), runs `SELECT 1` there and detaches, each under a time
    /// limit, so a source that hangs is reported unreachable instead of holding the check.
    /// Sources no dataset reads are not probed.
    public func probeSources(timeoutSeconds: Int) async -> [SourceProbe] {
        let used = Set(settings.datasets.map(\.source))
        let sources = settings.sources.filter { used.contains($0.name) }
        guard !sources.isEmpty else { return [] }
        do {
            try await ensurePrepared()
        } catch {
            return sources.map { SourceProbe(source: $0.name, reachable: false, milliseconds: 0, error: "the sync state could not be loaded") }
        }
        guard let instance = sourceInstance else {
            return sources.map { SourceProbe(source: $0.name, reachable: false, milliseconds: 0, error: sourceSetupError ?? "syncing is not available") }
        }
        var probes: [SourceProbe] = []
        for source in sources {
            probes.append(await probe(source, on: instance, timeoutSeconds: timeoutSeconds))
        }
        return probes
    }

    private func probe(_ source: SourceSettings, on instance: SourceInstance, timeoutSeconds: Int) async -> SourceProbe {
        let started = ContinuousClock.now
        var limited = source
        limited.connectTimeoutSeconds = max(1, min(source.connectTimeoutSeconds, timeoutSeconds))
        let interrupter = Interrupter()
        interrupter.interrupt(at: started + .seconds(timeoutSeconds))
        defer { interrupter.cancelDeadline() }
        let elapsed = { Int((ContinuousClock.now - started).milliseconds) }
        do {
            let attachment = try await instance.attach(limited, for: "health-\(UUID().uuidString)", timeoutSeconds: timeoutSeconds,
                                                       interrupter: interrupter, scope: settings.path)
            let outcome: Result<Void, any Error>
            do {
                try await attachment.control.run(interrupter: interrupter) { connection in
                    let catalog = SQL.literal(attachment.catalog)
                    if source.kind == .postgres {
                        _ = try connection.query("SELECT * FROM postgres_query(\(catalog), 'SELECT 1')").rows()
                    } else {
                        _ = try connection.query("SELECT count(*) FROM duckdb_tables() WHERE database_name = \(catalog)").rows()
                    }
                }
                outcome = .success(())
            } catch {
                outcome = .failure(error)
            }
            await attachment.detach(logger: logger)
            try outcome.get()
            return SourceProbe(source: source.name, reachable: true, milliseconds: elapsed(), error: nil)
        } catch {
            let message = interrupter.reason == .timeout
                ? "no answer within \(timeoutSeconds) s"
                : redactor.redact(Self.message(for: error))
            return SourceProbe(source: source.name, reachable: false, milliseconds: elapsed(), error: message)
        }
    }
}

extension SyncEngine {
    /// Drops the staging tables runs killed mid-load left in `main` (DESIGN.md §8 cleanup). A
    /// dataset's tables are dropped while cleanup holds its claim, so no run of it is loading them;
    /// a dataset that is syncing is skipped. Tables of datasets no longer configured are dropped.
    /// Returns the tables dropped.
    func dropLeftoverStaging() async throws -> [String] {
        let tables = try await database.withReader { connection in
            try await connection.run { duckdb in
                try duckdb.query("""
                    SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main'
                    """).rows().compactMap { $0.first?.text }.filter(StagingTable.isStaging)
            }
        }
        var dropped: [String] = []
        for table in tables {
            let owner = settings.datasets.first { dataset in
                SyncRun.subTableNames(of: dataset).contains { StagingTable.all(of: $0).contains(table) }
            }
            let claim: SyncClaim?
            if let owner {
                do {
                    claim = try self.claim(owner.name, full: false, trigger: .cleanup)
                } catch {
                    continue
                }
            } else {
                claim = nil
            }
            defer { if let claim { releaseClaim(claim) } }
            try await database.withSharedWriter { writer in
                try await writer.run { try $0.execute("DROP TABLE IF EXISTS main.\(SQL.quoted(table))") }
            }
            dropped.append(table)
        }
        return dropped
    }
}
