import DuckDBKit
import Foundation
import Logging
import Synchronization

/// One run of one dataset (DESIGN.md §5): every sub-table read from one source snapshot, written
/// into the main instance in one transaction with its watermarks and metadata, so readers see the
/// old copy or the new one and a failure leaves nothing behind.
struct SyncRun: Sendable {
    let runID: String
    let dataset: DatasetSettings
    let source: SourceSettings
    let database: ManagedDatabase
    let sources: SourceInstance
    let engine: EngineSettings
    /// Full rebuild asked for (`?full=true`, reset watermarks, repeated failures, incremental off).
    let forceFull: Bool
    let previous: SyncStateStore.Persisted
    let interrupter: Interrupter
    /// When the run began (its duration counts from here, attaching the source included).
    let started: Date
    let logger: Logger
    let progress: @Sendable (Int) -> Void
    /// Told when the run starts loading (it holds the write path) and when it applies.
    let phase: @Sendable (SyncClaim.Phase) -> Void

    /// A table of the copy: the dataset itself, or `{name}_dataset` / `{name}_results`.
    struct SubTable: Sendable {
        let name: String
        let origin: SourceRead.Origin
        let primaryKey: [String]
    }

    struct Outcome: Sendable {
        var state: SyncStateStore.Persisted
        var rowsRead: Int
        /// What each table of the copy got, for the run's lineage.
        var tables: [WrittenTable] = []
    }

    /// A table of the copy after a run: its columns, the rows this run wrote, and the rows it holds.
    struct WrittenTable: Sendable {
        let name: String
        let columns: [Column]
        let rowsWritten: Int
        let rows: Int
    }

    /// The names of the tables a dataset's runs write.
    static func subTableNames(of dataset: DatasetSettings) -> [String] {
        switch dataset.shape {
        case .table: [dataset.name]
        case .split: ["\(dataset.name)_dataset", "\(dataset.name)_results"]
        }
    }

    var subTables: [SubTable] {
        switch dataset.shape {
        case .table(let qualified):
            let parts = qualified.split(separator: ".").map(String.init)
            let origin: SourceRead.Origin = switch (parts.count, source.kind) {
            case (2, _): .table(schema: parts[0], table: parts[1])
            case (_, .postgres): .table(schema: "public", table: parts[0])
            case (_, .sqlite): .table(schema: "main", table: parts[0])
            case (_, .mysql): .query("SELECT * FROM \(SQL.quoted(parts[0]))")
            }
            return [SubTable(name: Self.subTableNames(of: dataset)[0], origin: origin, primaryKey: dataset.primaryKey)]
        case .split(let datasetQuery, let resultsQuery):
            let names = Self.subTableNames(of: dataset)
            return [
                SubTable(name: names[0], origin: .query(datasetQuery), primaryKey: dataset.primaryKey),
                SubTable(name: names[1], origin: .query(resultsQuery), primaryKey: dataset.resultsPrimaryKey),
            ]
        }
    }

    /// Whether the run reads the source with more than one statement (then they share one
    /// transaction, so one snapshot): split queries, key diffs, partitions.
    var needsOneSnapshot: Bool {
        subTables.count > 1 || dataset.deleteDetection == .primaryKeyDiff || (dataset.partitionColumn != nil && engine.syncWorkers > 1)
    }

    func execute() async throws -> Outcome {
        let attachment = try await sources.attach(source, for: runID, timeoutSeconds: dataset.queryTimeoutSeconds, interrupter: interrupter,
                                                  scope: database.settings.path)
        let catalog = attachment.catalog
        let cancellation = source.kind == .postgres
            ? interrupter.whenInterrupted { [logger] _ in attachment.cancelPostgresStatements(logger: logger) }
            : nil
        defer { interrupter.remove(cancellation) }
        let partitionSessions = SessionList()
        let outcome: Result<Outcome, any Error>
        do {
            let coordinator = try await SourceSession.open(
                on: sources, source: source, catalog: catalog, transactional: needsOneSnapshot, snapshot: nil, interrupter: interrupter)
            partitionSessions.add([coordinator])
            outcome = .success(try await write(coordinator: coordinator, partitionSessions: partitionSessions))
        } catch {
            outcome = .failure(error)
        }
        await partitionSessions.closeAll()
        await attachment.detach(logger: logger)
        return try outcome.get()
    }

    /// The sessions opened for partitioned reads, closed when the run ends.
    private final class SessionList: Sendable {
        private let sessions = Mutex<[SourceSession]>([])

        func add(_ more: [SourceSession]) {
            sessions.withLock { $0 += more }
        }

        func closeAll() async {
            for session in sessions.withLock({ $0 }) { await session.close() }
        }
    }

    /// Loads every sub-table into staging tables, then applies them with the run's state in one
    /// transaction. The staging tables are committed as they load (several connections insert into
    /// each at once, which one transaction could not), but nothing reads them: the live tables
    /// change only in the final transaction, and a failed run drops what it staged.
    private func write(coordinator: SourceSession, partitionSessions: SessionList) async throws -> Outcome {
        try await database.withSyncWriter { writer in
            phase(.loading)
            // Connecting is a DuckDB call: made on the writer's thread, not the cooperative pool.
            let loaders = try await writer.run(interrupter: interrupter) { [database] _ in try database.loaderConnections() }
            let outcome: Result<Outcome, any Error>
            do {
                var loads: [Load] = []
                for sub in subTables {
                    loads.append(try await load(sub, coordinator: coordinator, writer: writer, loaders: loaders,
                                                watermark: previous.watermarks[sub.name], partitionSessions: partitionSessions))
                }
                outcome = .success(try await apply(loads, writer: writer))
            } catch {
                // A fresh interrupter: the run's own may have fired, and the cleanup must happen.
                let staged = subTables.flatMap { StagingTable.all(of: $0.name) }
                do {
                    try await writer.run { duckdb in
                        duckdb.rollbackIfInTransaction()
                        for table in staged { try duckdb.execute("DROP TABLE IF EXISTS main.\(SQL.quoted(table))") }
                    }
                } catch let cleanup {
                    // What is left is dropped when the file is next opened read-write.
                    logger.warning("could not drop a failed sync's staging tables", metadata: ["duckling.error": "\(cleanup)"])
                }
                outcome = .failure(error)
            }
            for loader in loaders { await loader.close() }
            return try outcome.get()
        }
    }

    /// Applies the staged sub-tables and records the run, all in one transaction.
    private func apply(_ loads: [Load], writer: SerializedConnection) async throws -> Outcome {
        phase(.applying)
        try await writer.run(interrupter: interrupter) { try $0.execute("BEGIN TRANSACTION") }
        var state = previous
        var rowsRead = 0
        var reconciled: Bool? = true
        var primaryRows = 0
        var tables: [WrittenTable] = []
        for (index, load) in loads.enumerated() {
            let applied = try await apply(load, writer: writer)
            rowsRead += load.rowsRead
            tables.append(WrittenTable(name: load.sub.name, columns: load.columns, rowsWritten: load.rowsRead, rows: applied.rows))
            state.watermarks[load.sub.name] = applied.watermark
            reconciled = combine(reconciled, applied.reconciled)
            if index == 0 { primaryRows = applied.rows }
        }
        if case .split = dataset.shape { try await createJoinedView(writer) }
        let anyFull = loads.contains { !$0.incremental }
        let finished = Date()
        state.syncType = anyFull ? "full" : "incremental"
        if anyFull { state.lastFull = finished } else {
            state.lastIncremental = finished
            state.incrementalRows = rowsRead
        }
        state.rows = primaryRows
        state.truncated = loads.contains(where: \.truncated)
        state.reconciled = reconciled
        state.lastError = nil
        state.consecutiveFailures = 0
        state.forceFull = false
        state.lastRunID = runID
        state.lastStatus = "succeeded"
        state.lastAttempt = started
        state.durationMs = Int(finished.timeIntervalSince(started) * 1000)
        let committed = state
        let readCount = rowsRead
        try await writer.run(interrupter: interrupter) { [dataset, runID] duckdb in
            try SyncStateStore.recordSuccess(
                dataset: dataset.name, state: committed, watermarkColumn: dataset.incrementalColumn, runID: runID,
                rowsRead: readCount, finishedAt: finished, on: duckdb)
            try duckdb.execute("COMMIT")
        }
        return Outcome(state: committed, rowsRead: rowsRead, tables: tables)
    }

    /// One sub-table read into its staging table, waiting to be applied.
    private struct Load {
        let sub: SubTable
        let columns: [Column]
        let incremental: Bool
        /// ``StagingTable/full(_:)`` or ``StagingTable/delta(_:)`` of the sub-table.
        let stage: String
        let rowsRead: Int
        let truncated: Bool
        /// Where a capped run stopped: the watermark the next run continues after.
        let boundary: Watermark?
        /// With `primary_key_diff` on an incremental run: the table of every key at the source, and their number.
        var keys: (table: String, count: Int)?
    }

    /// What applying a load left in the live table.
    private struct Applied {
        var rows: Int
        var watermark: Watermark?
        var reconciled: Bool?
    }

    /// Reads one sub-table from the source into its staging table (and, for `primary_key_diff`,
    /// every source key into a key table), on the run's loader connections.
    private func load(
        _ sub: SubTable, coordinator: SourceSession, writer: SerializedConnection, loaders: [SerializedConnection],
        watermark: Watermark?, partitionSessions: SessionList
    ) async throws -> Load {
        var read = SourceRead(origin: sub.origin, source: source, catalog: coordinator.catalog)
        let columns = try await describe(read, on: coordinator)
        if let column = dataset.incrementalColumn, !columns.contains(where: { $0.name == column }) {
            throw SyncError.invalidData("incremental_column '\(column)' is not a column of \(sub.name)'s source (columns: \(columns.map(\.name).joined(separator: ", ")))")
        }
        for key in sub.primaryKey where !columns.contains(where: { $0.name == key }) {
            throw SyncError.invalidData("primary key column '\(key)' is not a column of \(sub.name)'s source")
        }
        let existing = try await tableColumns(sub.name, writer: writer)
        // Incremental when there is a watermark and the copy still has the source's columns;
        // otherwise (first run, reset, schema change) a full rebuild.
        let incremental = !forceFull && dataset.incrementalColumn != nil && watermark != nil && existing == columns
        if incremental, let column = dataset.incrementalColumn, let recorded = watermark {
            // The types put into SQL are the source's own column types, never the recorded text (a
            // restored file carries it); a boundary key of other columns than today's key (the
            // configuration changed) is not used.
            func type(of name: String) -> String? { columns.first { $0.name == name }?.type.sqlName }
            let key = recorded.key?.map(\.column) == sub.primaryKey
                ? recorded.key?.compactMap { part in type(of: part.column).map { Watermark.KeyPart(column: part.column, value: part.value, type: $0) } }
                : nil
            let current = Watermark(value: recorded.value, type: type(of: column) ?? recorded.type, key: key?.count == sub.primaryKey.count ? key : nil)
            read.window = .init(column: column, watermark: current, lookbackSeconds: sub.primaryKey.isEmpty ? 0 : dataset.lookbackSeconds)
        }
        if let cap = dataset.maxSyncRows {
            // One row more than the cap tells whether more were waiting; it is dropped after the read.
            read.limit = cap + 1
            read.orderColumns = dataset.incrementalColumn.map { [$0] + sub.primaryKey } ?? sub.primaryKey
        }
        read.textColumns = Set(columns.filter { $0.type == .varchar }.map(\.name))
        let stage = incremental ? StagingTable.delta(sub.name) : StagingTable.full(sub.name)
        let readers = try await partitionReaders(read, columns: columns, coordinator: coordinator, partitionSessions: partitionSessions)
        let readStarted = ContinuousClock.now
        var rowsRead = try await transfer(readers, columns: columns, into: stage, writer: writer, loaders: loaders, progress: progress)
        logger.debug("sync phase", metadata: [
            "duckling.table": .string(sub.name), "duckling.mode": .string(incremental ? "incremental" : "full"),
            "duckling.rows_read": .stringConvertible(rowsRead), "duckling.readers": .stringConvertible(readers.count),
            "duckling.read_ms": .stringConvertible((ContinuousClock.now - readStarted).milliseconds),
        ])
        var truncated = false
        var boundary: Watermark?
        if let cap = dataset.maxSyncRows, rowsRead > cap {
            truncated = true
            rowsRead = cap
            boundary = try await dropRowPastTheCap(in: stage, sub: sub, columns: columns, order: read.orderColumns, writer: writer)
        }
        var load = Load(sub: sub, columns: columns, incremental: incremental, stage: stage, rowsRead: rowsRead,
                        truncated: truncated, boundary: boundary)
        if dataset.deleteDetection == .primaryKeyDiff && !sub.primaryKey.isEmpty && incremental {
            // Every key at the source, from the same snapshot.
            var keysRead = read
            keysRead.window = nil
            keysRead.limit = nil
            keysRead.orderColumns = []
            keysRead.selecting = "DISTINCT \(sub.primaryKey.map(SQL.quoted).joined(separator: ", "))"
            let keyColumns = try await describe(keysRead, on: coordinator)
            let table = StagingTable.keys(sub.name)
            let count = try await transfer([(coordinator, keysRead)], columns: keyColumns, into: table, writer: writer, loaders: loaders) { _ in }
            load.keys = (table, count)
        }
        return load
    }

    /// A capped read took one row more than the cap: drops the last row in read order (value, then
    /// key, nulls last, as at the source) and returns the compound boundary of what is left (the
    /// value and key of the last row kept), from which the next run continues. The boundary is nil
    /// without an incremental column (a capped full copy has nothing to continue from).
    private func dropRowPastTheCap(
        in stage: String, sub: SubTable, columns: [Column], order: [String], writer: SerializedConnection
    ) async throws -> Watermark? {
        let table = "main.\(SQL.quoted(stage))"
        let descending = order.map { "\(SQL.quoted($0)) DESC NULLS FIRST" }.joined(separator: ", ")
        let incremental = dataset.incrementalColumn
        return try await writer.run(interrupter: interrupter) { duckdb -> Watermark? in
            try duckdb.execute("DELETE FROM \(table) WHERE rowid = (SELECT rowid FROM \(table) ORDER BY \(descending.isEmpty ? "rowid DESC" : descending) LIMIT 1)")
            guard let column = incremental, let type = columns.first(where: { $0.name == column })?.type else { return nil }
            let selected = ([column] + sub.primaryKey).map { "CAST(\(SQL.quoted($0)) AS VARCHAR)" }.joined(separator: ", ")
            let row = try duckdb.query(
                "SELECT \(selected) FROM \(table) WHERE \(SQL.quoted(column)) IS NOT NULL ORDER BY \(descending) LIMIT 1").rows().first
            guard let row, let value = row[0].text else { return nil }
            let key = try zip(sub.primaryKey, row.dropFirst()).map { name, cell -> Watermark.KeyPart in
                guard let text = cell.text, let keyType = columns.first(where: { $0.name == name })?.type else {
                    throw SyncError.invalidData("the primary key column '\(name)' of \(sub.name) is NULL in a row the capped run read")
                }
                return Watermark.KeyPart(column: name, value: text, type: keyType.sqlName)
            }
            return Watermark(value: value, type: type.sqlName, key: sub.primaryKey.isEmpty ? nil : key)
        }
    }

    /// Creates `table` (committed) and fills it from `reads` through all the loaders at once.
    private func transfer(
        _ reads: [(session: SourceSession, read: SourceRead)], columns: [Column], into table: String,
        writer: SerializedConnection, loaders: [SerializedConnection], progress: @escaping @Sendable (Int) -> Void
    ) async throws -> Int {
        let definition = columns.map { "\(SQL.quoted($0.name)) \($0.type.sqlName)" }.joined(separator: ", ")
        try await writer.run(interrupter: interrupter) { duckdb in
            try duckdb.execute("CREATE OR REPLACE TABLE main.\(SQL.quoted(table)) (\(definition))")
        }
        return try await ChunkTransfer.run(reads, columns: columns, into: table, loaders: loaders, interrupter: interrupter, progress: progress)
    }

    /// Applies one load to its live table inside the run's transaction.
    private func apply(_ load: Load, writer: SerializedConnection) async throws -> Applied {
        let sub = load.sub
        let target = "main.\(SQL.quoted(sub.name))"
        let staged = "main.\(SQL.quoted(load.stage))"
        let softDeleted = dataset.softDeleteColumn.map { "\(SQL.quoted($0)) IS TRUE" }
        let previousWatermark = load.incremental ? previous.watermarks[sub.name] : nil
        let applyStarted = ContinuousClock.now
        let (rows, maximum): (Int, DuckDBValue?) = try await writer.run(interrupter: interrupter) { [dataset] duckdb in
            var maximum: DuckDBValue?
            if load.incremental {
                // The copy's other rows have not changed since the last run, whose highest value is
                // the previous watermark: the new one comes from the delta, not from a scan of the copy.
                if let column = dataset.incrementalColumn, let previousWatermark {
                    let previousValue = previousWatermark.duckdbExpression(parameter: 1, lookbackSeconds: 0)
                    maximum = try duckdb.query(
                        "SELECT greatest(coalesce(max(\(SQL.quoted(column))), \(previousValue)), \(previousValue)) FROM \(staged)",
                        [.varchar(previousWatermark.value)]).scalar() ?? .null
                }
                if !sub.primaryKey.isEmpty {
                    let matches = sub.primaryKey.map { "\(target).\(SQL.quoted($0)) = \(staged).\(SQL.quoted($0))" }.joined(separator: " AND ")
                    try duckdb.execute("DELETE FROM \(target) USING \(staged) WHERE \(matches)")
                }
                // A soft-deleted row's old version went with the delete; the copy never holds one.
                let kept = softDeleted.map { " WHERE NOT (\($0))" } ?? ""
                try duckdb.execute("INSERT INTO \(target) BY NAME SELECT * FROM \(staged)\(kept); DROP TABLE \(staged)")
            } else {
                if let softDeleted { try duckdb.execute("DELETE FROM \(staged) WHERE \(softDeleted)") }
                try duckdb.execute("DROP TABLE IF EXISTS \(target); ALTER TABLE \(staged) RENAME TO \(SQL.quoted(sub.name))")
            }
            if let keys = load.keys {
                let table = "main.\(SQL.quoted(keys.table))"
                let matches = sub.primaryKey.map { "\(table).\(SQL.quoted($0)) = \(target).\(SQL.quoted($0))" }.joined(separator: " AND ")
                try duckdb.execute("DELETE FROM \(target) WHERE NOT EXISTS (SELECT 1 FROM \(table) WHERE \(matches)); DROP TABLE \(table)")
            }
            let count = try duckdb.query("SELECT count(*) FROM \(target)").scalar()
            if maximum == nil, let column = dataset.incrementalColumn {
                maximum = try duckdb.query("SELECT max(\(SQL.quoted(column))) FROM \(target)").scalar() ?? .null
            }
            guard case .bigint(let rows) = count else { throw SyncError.invalidData("could not count \(sub.name)") }
            return (Int(rows), maximum)
        }
        logger.debug("sync apply", metadata: [
            "duckling.table": .string(sub.name), "duckling.apply_ms": .stringConvertible((ContinuousClock.now - applyStarted).milliseconds),
        ])
        var applied = Applied(rows: rows, watermark: nil, reconciled: nil)
        if !load.incremental && !load.truncated && dataset.softDeleteColumn == nil { applied.reconciled = rows == load.rowsRead }
        if let keys = load.keys { applied.reconciled = dataset.softDeleteColumn == nil ? rows == keys.count : nil }
        if let boundary = load.boundary {
            applied.watermark = boundary
        } else if let column = dataset.incrementalColumn, let maximum, let type = load.columns.first(where: { $0.name == column })?.type {
            applied.watermark = Watermark(maximum, type: type)
        }
        return applied
    }

    /// One reader, or one per partition of `partition_column` (integers), all on one snapshot.
    private func partitionReaders(
        _ read: SourceRead, columns: [Column], coordinator: SourceSession, partitionSessions: SessionList
    ) async throws -> [(session: SourceSession, read: SourceRead)] {
        let workers = engine.syncWorkers
        guard let column = dataset.partitionColumn, workers > 1, read.limit == nil, source.kind == .postgres,
              let type = columns.first(where: { $0.name == column })?.type,
              [.tinyint, .smallint, .integer, .bigint, .utinyint, .usmallint, .uinteger].contains(type) else {
            if let column = dataset.partitionColumn, !columns.contains(where: { $0.name == column }) {
                throw SyncError.invalidData("partition_column '\(column)' is not a column of the source")
            }
            return [(coordinator, read)]
        }
        var bounds = read
        bounds.selecting = "min(\(SQL.quoted(column))) AS lower, max(\(SQL.quoted(column))) AS upper"
        let (sql, bindings) = bounds.statement()
        let range = try await coordinator.connection.run(interrupter: interrupter) { duckdb -> (Int64, Int64)? in
            let statement = try duckdb.prepare(sql)
            try statement.bind(bindings)
            let row = try statement.execute(streaming: false).rows().first
            guard let row, let lower = row[0].text.flatMap({ Int64($0) }), let upper = row[1].text.flatMap({ Int64($0) }) else { return nil }
            return (lower, upper)
        }
        guard let (lower, upper) = range, upper > lower else { return [(coordinator, read)] }
        // The span may exceed Int64 (ids from Int64.min to Int64.max): it is counted in UInt64, and
        // bounds are added with wrapping arithmetic, which is exact because each lies in [lower, upper].
        let span = UInt64(bitPattern: upper &- lower)
        let count = span < UInt64(workers) ? Int(span) + 1 : workers
        let step = span / UInt64(count) + (span % UInt64(count) == UInt64(count) - 1 ? 1 : 0)
        let snapshot = try await coordinator.exportSnapshot()
        var sessions = [coordinator]
        for _ in 1..<count {
            let session = try await SourceSession.open(
                on: sources, source: source, catalog: coordinator.catalog, transactional: true, snapshot: snapshot, interrupter: interrupter)
            // Registered at once, so the run closes it even if a later one fails to open.
            partitionSessions.add([session])
            sessions.append(session)
        }
        return sessions.enumerated().map { index, session in
            var part = read
            let isLast = index == count - 1
            part.partition = .init(column: column, lower: lower &+ Int64(bitPattern: step &* UInt64(index)),
                                   upper: isLast ? upper : lower &+ Int64(bitPattern: step &* UInt64(index + 1)), isLast: isLast)
            return (session, part)
        }
    }

    /// The columns a read returns (prepared, not run).
    private func describe(_ read: SourceRead, on session: SourceSession) async throws -> [Column] {
        let (sql, _) = read.statement()
        return try await session.connection.run(interrupter: interrupter) { try $0.prepare(sql).columns }
    }

    /// The copy's current columns, or nil if the table does not exist.
    private func tableColumns(_ table: String, writer: SerializedConnection) async throws -> [Column]? {
        try await writer.run(interrupter: interrupter) { duckdb -> [Column]? in
            let exists = try duckdb.query(
                "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = $1",
                [.varchar(table)]).scalar()
            guard exists == .bigint(1) else { return nil }
            return try duckdb.prepare("SELECT * FROM main.\(SQL.quoted(table))").columns
        }
    }

    /// `{name}`: the dataset rows with their results (LEFT JOIN, so datasets without results stay).
    private func createJoinedView(_ writer: SerializedConnection) async throws {
        let name = dataset.name
        try await writer.run(interrupter: interrupter) { duckdb in
            try duckdb.execute("""
                CREATE OR REPLACE VIEW main.\(SQL.quoted(name)) AS
                SELECT * FROM main.\(SQL.quoted(name + "_dataset")) LEFT JOIN main.\(SQL.quoted(name + "_results")) USING (dataset_id)
                """)
        }
    }

    private func combine(_ a: Bool?, _ b: Bool?) -> Bool? {
        guard let a, let b else { return nil }
        return a && b
    }
}
