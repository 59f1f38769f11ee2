public import Foundation
public import Logging

/// Duckling's own jobs (syncs, backups, restores, cleanup, lake appends and imports) as lineage
/// and `job_status` events (DESIGN.md §9): each run's START and its COMPLETE, FAIL or ABORT are
/// stored as OpenLineage run events and published on the bus. Reporting never fails a job: a
/// store that cannot take an event is logged, and the job goes on.
public final class JobReporter: Sendable {
    let lineage: LineageService?
    let bus: EventBus?
    /// The namespace of Duckling's jobs (`lineage.namespace`).
    public let namespace: String
    /// Every configured secret, taken out of errors and problems before they leave.
    let redactor: SecretRedactor
    let logger: Logger

    /// Reports nothing: for tools and tests that run jobs without a server.
    public static let silent = JobReporter(lineage: nil, bus: nil, namespace: "duckling", redactor: SecretRedactor(secrets: []),
                                           logger: Logger(label: "duckling.jobs.silent"))

    public init(lineage: LineageService?, bus: EventBus?, namespace: String, redactor: SecretRedactor, logger: Logger) {
        self.lineage = lineage
        self.bus = bus
        self.namespace = namespace
        self.redactor = redactor
        self.logger = logger
    }

    /// What kind of work a job is, as `job_status` names it.
    public enum Kind: String, Sendable, Codable {
        case sync, backup, s3Backup = "s3_backup", restore, cleanup, health
        case lakeAppend = "lake_append", lakeImport = "lake_import"
    }

    /// One run of a job, between its START and its end.
    public struct Run: Sendable {
        public let id: UUID
        public let kind: Kind
        public let name: String
        public let database: String?
        public let description: String?
        public let startedAt: Date
        let inputs: [LineageService.Dataset]
        let outputs: [LineageService.Dataset]
    }

    /// How a run ended, with the datasets as they are after it (nil keeps those of the START).
    public struct Ending: Sendable {
        public var inputs: [LineageService.Dataset]?
        public var outputs: [LineageService.Dataset]?
        public var rows: Int?
        public var bytes: Int64?

        public init(inputs: [LineageService.Dataset]? = nil, outputs: [LineageService.Dataset]? = nil, rows: Int? = nil, bytes: Int64? = nil) {
            self.inputs = inputs
            self.outputs = outputs
            self.rows = rows
            self.bytes = bytes
        }
    }

    // MARK: Names

    /// The namespace of a Duckling database's tables, and of the database itself.
    public func databaseNamespace(_ database: String) -> String {
        "duckling://\(namespace)/\(database)"
    }

    /// A table of a Duckling database, as a lineage dataset.
    public func table(_ name: String, in database: String, schema: String = "main") -> LineageService.Dataset {
        LineageService.Dataset(namespace: databaseNamespace(database), name: "\(schema).\(name)")
    }

    /// A whole Duckling database, as a lineage dataset.
    public func database(_ id: String) -> LineageService.Dataset {
        LineageService.Dataset(namespace: databaseNamespace(id), name: id)
    }

    /// An object of the dataset buckets (`/datasets/BUCKET/KEY`).
    public func datasetObject(bucket: String, key: String) -> LineageService.Dataset {
        LineageService.Dataset(namespace: databaseNamespace("datasets"), name: "\(bucket)/\(key)")
    }

    /// A local file, as the OpenLineage naming conventions write it.
    public static func file(_ path: String) -> LineageService.Dataset {
        LineageService.Dataset(namespace: "file", name: path)
    }

    /// An object in an S3 bucket.
    public static func s3Object(bucket: String, key: String) -> LineageService.Dataset {
        LineageService.Dataset(namespace: "s3://\(bucket)", name: key)
    }

    /// A source's namespace without its credentials: `postgres://host:port/db`,
    /// `mysql://host:port/db`, `sqlite://path`. Everything up to the last `@` of the URL (before
    /// its query) is dropped before it is read, so a password holding `/` or `:` cannot show.
    public static func sourceNamespace(_ source: SourceSettings) -> String {
        let url = source.url.value
        let withoutQuery = url.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? url
        switch source.kind {
        case .sqlite:
            let path = withoutQuery.hasPrefix("sqlite://") ? String(withoutQuery.dropFirst("sqlite://".count)) : String(withoutQuery.dropFirst("sqlite:".count))
            return "sqlite://" + path
        case .postgres, .mysql:
            let scheme = source.kind == .postgres ? "postgres" : "mysql"
            var rest = withoutQuery.range(of: "://").map { String(withoutQuery[$0.upperBound...]) } ?? withoutQuery
            if let at = rest.lastIndex(of: "@") { rest = String(rest[rest.index(after: at)...]) }
            let components = URLComponents(string: "\(scheme)://\(rest)")
            let host = components?.host.flatMap { $0.isEmpty ? nil : $0 } ?? "localhost"
            let port = components?.port ?? (source.kind == .postgres ? 5432 : 3306)
            let database = components?.path.split(separator: "/").first.map(String.init) ?? ""
            return "\(scheme)://\(host):\(port)/\(database)"
        }
    }

    // MARK: Reporting

    /// Records the START of a run and publishes its `job_status`.
    public func start(_ kind: Kind, name: String, database: String?, runID: UUID = UUID(), description: String? = nil,
                      inputs: [LineageService.Dataset] = [], outputs: [LineageService.Dataset] = []) async -> Run {
        let run = Run(id: runID, kind: kind, name: name, database: database, description: description, startedAt: Date(),
                      inputs: inputs, outputs: outputs)
        await record(.start, run, inputs: inputs, outputs: outputs, error: nil, at: run.startedAt)
        publish(JobStatus(run, namespace: namespace, state: "running"))
        return run
    }

    /// Records a run's COMPLETE.
    public func complete(_ run: Run, _ ending: Ending = Ending()) async {
        let now = Date()
        await record(.complete, run, inputs: ending.inputs ?? run.inputs, outputs: ending.outputs ?? run.outputs, error: nil, at: now)
        publish(JobStatus(run, namespace: namespace, state: "succeeded", endedAt: now, rows: ending.rows, bytes: ending.bytes))
    }

    /// Records a run's FAIL with its error (freed here of every configured secret), or its ABORT
    /// when it was cancelled.
    public func fail(_ run: Run, error: String, cancelled: Bool = false, _ ending: Ending = Ending()) async {
        let now = Date()
        let error = redactor.redact(error)
        await record(cancelled ? .abort : .fail, run, inputs: ending.inputs ?? run.inputs, outputs: ending.outputs ?? run.outputs, error: error, at: now)
        publish(JobStatus(run, namespace: namespace, state: cancelled ? "cancelled" : "failed", endedAt: now, error: error, rows: ending.rows, bytes: ending.bytes))
    }

    /// How a run that does not throw ended.
    public enum Outcome: Sendable {
        case completed(Ending)
        case failed(String, cancelled: Bool, Ending)
    }

    /// Runs `body` as one run: START before it, then its COMPLETE, FAIL or ABORT as `outcome`
    /// reads the result.
    public func report<T: Sendable>(
        _ kind: Kind, name: String, database: String?, runID: UUID = UUID(), inputs: [LineageService.Dataset] = [],
        outputs: [LineageService.Dataset] = [], outcome: (T) -> Outcome, _ body: () async -> T
    ) async -> T {
        let run = await start(kind, name: name, database: database, runID: runID, inputs: inputs, outputs: outputs)
        let value = await body()
        switch outcome(value) {
        case .completed(let ending): await complete(run, ending)
        case .failed(let error, let cancelled, let ending): await fail(run, error: error, cancelled: cancelled, ending)
        }
        return value
    }

    /// Runs `body` as one run: START before it, COMPLETE with `ending(result)` after it, FAIL (or
    /// ABORT when cancelled) with `describe(error)` when it throws, and the error rethrown.
    public func run<T: Sendable>(
        _ kind: Kind, name: String, database: String?, inputs: [LineageService.Dataset] = [], outputs: [LineageService.Dataset] = [],
        describe: (any Error) -> String = { String(describing: $0) },
        ending: (T) -> Ending = { _ in Ending() },
        _ body: () async throws -> T
    ) async throws -> T {
        let result: Result<T, any Error> = await report(kind, name: name, database: database, inputs: inputs, outputs: outputs, outcome: { result in
            switch result {
            case .success(let value): .completed(ending(value))
            case .failure(let error): .failed(describe(error), cancelled: error is CancellationError || Task.isCancelled, Ending())
            }
        }) {
            do { return .success(try await body()) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// A change of a database's health, as a `job_status` event of its health job.
    public func healthChanged(database: String, from previous: String?, to state: String, problems: [String]) {
        var status = JobStatus(kind: .health, name: "\(database).health", namespace: namespace, database: database, state: state)
        status.previousState = previous
        status.problems = problems.map(redactor.redact)
        publish(status)
    }

    private func record(_ type: RunEvent.EventType, _ run: Run, inputs: [LineageService.Dataset], outputs: [LineageService.Dataset],
                        error: String?, at time: Date) async {
        guard let lineage else { return }
        do {
            let event = try lineage.event(type, runID: run.id, job: RunEvent.DatasetName(namespace: namespace, name: run.name),
                                          description: type == .start ? run.description : nil, jobType: run.kind.rawValue,
                                          inputs: inputs, outputs: outputs, error: error, at: time)
            // In a task of its own: a job being cancelled (shutdown, a stuck task) still gets its
            // ending stored, where its own task's cancellation would interrupt the store's statement.
            try await Task { try await lineage.record(event, own: true) }.value
        } catch {
            logger.warning("could not record a job's lineage event", metadata: [
                "duckling.job": .string(run.name), "duckling.run_id": .string(run.id.uuidString.lowercased()),
                "duckling.event_type": .string(type.rawValue), "duckling.error": .string(String(describing: error)),
            ])
        }
    }

    private func publish(_ status: JobStatus) {
        bus?.publish(.jobStatus, status)
    }

    /// The `data` of a `job_status` event.
    public struct JobStatus: Encodable, Sendable {
        public let kind: Kind
        public let name: String
        public let namespace: String
        public let database: String?
        public var runID: String?
        /// running, succeeded, failed, cancelled; for health: healthy, degraded, unhealthy, failed.
        public let state: String
        public var startedAt: Date?
        public var endedAt: Date?
        public var durationMs: Int?
        public var error: String?
        public var rows: Int?
        public var bytes: Int64?
        public var previousState: String?
        public var problems: [String]?

        init(kind: Kind, name: String, namespace: String, database: String?, state: String) {
            self.kind = kind
            self.name = name
            self.namespace = namespace
            self.database = database
            self.state = state
        }

        init(_ run: Run, namespace: String, state: String, endedAt: Date? = nil, error: String? = nil, rows: Int? = nil, bytes: Int64? = nil) {
            self.init(kind: run.kind, name: run.name, namespace: namespace, database: run.database, state: state)
            runID = run.id.uuidString.lowercased()
            startedAt = run.startedAt
            self.endedAt = endedAt
            durationMs = endedAt.map { Int($0.timeIntervalSince(run.startedAt) * 1000) }
            self.error = error
            self.rows = rows
            self.bytes = bytes
        }

        enum CodingKeys: String, CodingKey {
            case kind = "job", name, namespace, database, runID = "run_id", state, startedAt = "started_at", endedAt = "ended_at"
            case durationMs = "duration_ms", error, rows, bytes, previousState = "previous_state", problems
        }
    }
}
