public import Foundation
public import Logging
import DuckDBKit

/// OpenLineage run events in a DuckDB file of Duckling's own (`DATA_DIR/lineage.db`), so they
/// survive restarts and can be queried; job definitions from `POST /jobs` beside them. Every call
/// runs on the store's own connection thread. Answers are JSON made by DuckDB itself.
public final class LineageStore: Sendable {
    let database: Database
    let connection: SerializedConnection
    let logger: Logger

    public init(path: String, logger: Logger) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        database = try Database(path: path, configuration: DatabaseConfiguration(memoryLimit: "128MB", threads: 1, allowsExternalAccess: false))
        connection = try SerializedConnection(database: database, label: "lineage")
        self.logger = logger
    }

    /// Creates the tables when they are missing.
    public func open() async throws {
        try await connection.run { connection in
            try connection.execute("""
                CREATE SEQUENCE IF NOT EXISTS event_seq;
                CREATE TABLE IF NOT EXISTS events (
                    seq BIGINT PRIMARY KEY DEFAULT nextval('event_seq'), received_at TIMESTAMPTZ NOT NULL,
                    event_time TIMESTAMPTZ NOT NULL, event_type VARCHAR, run_id UUID NOT NULL,
                    job_namespace VARCHAR NOT NULL, job_name VARCHAR NOT NULL, producer VARCHAR NOT NULL, event JSON NOT NULL);
                CREATE TABLE IF NOT EXISTS event_datasets (
                    seq BIGINT NOT NULL, direction VARCHAR NOT NULL, namespace VARCHAR NOT NULL, name VARCHAR NOT NULL);
                ALTER TABLE events ADD COLUMN IF NOT EXISTS own BOOLEAN DEFAULT false;
                CREATE TABLE IF NOT EXISTS outbox (seq BIGINT PRIMARY KEY, queued_at TIMESTAMPTZ NOT NULL);
                CREATE TABLE IF NOT EXISTS jobs (
                    namespace VARCHAR NOT NULL, name VARCHAR NOT NULL, description VARCHAR, inputs JSON, outputs JSON,
                    created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (namespace, name));
                """)
        }
    }

    public func close() async {
        await connection.close()
        database.close()
    }

    /// What ``record(_:unlessEnded:forwardBound:)`` did with an event.
    public enum Recorded: Sendable, Equatable {
        /// Stored under `seq`; `queued` says whether it waits in the forwarding queue (false when
        /// forwarding is off or the queue is at its bound).
        case stored(seq: Int64, queued: Bool)
        /// The same event (run, type, time and content) was stored before: nothing changed.
        case duplicate
        /// `unlessEnded` and the run has already ended: nothing stored.
        case ended
    }

    /// Stores one event and its datasets in one transaction, and with `forwardBound` queues it
    /// for forwarding unless that many already wait. An event stored before (a client's retry, a
    /// forwarder's resend) is not stored twice. With `unlessEnded`, nothing is stored when the run
    /// already has an ending event (checked in the same job on the store's one connection, so two
    /// endings cannot both pass).
    @discardableResult
    /// `own` marks an event of this process's own jobs (not a client's, nor one another Duckling forwarded).
    public func record(_ event: RunEvent, unlessEnded: Bool = false, forwardBound: Int? = nil, own: Bool = false) async throws -> Recorded {
        try await connection.run { connection in
            try connection.transaction { () -> Recorded in
                let json = String(decoding: event.json, as: UTF8.self)
                let same = try connection.query("""
                    SELECT count(*) FROM events WHERE run_id = $1::UUID AND event_type IS NOT DISTINCT FROM $2
                        AND event_time = $3::TIMESTAMPTZ AND event::VARCHAR = $4
                    """, [.varchar(event.runID), event.eventType.map { .varchar($0.rawValue) } ?? .null,
                          .varchar(Self.format(event.eventTime)), .varchar(json)]).scalar()
                if same != .bigint(0) { return .duplicate }
                if unlessEnded {
                    let ended = try connection.query("""
                        SELECT count(*) FROM events WHERE run_id = $1::UUID AND event_type IN ('COMPLETE', 'ABORT', 'FAIL')
                        """, [.varchar(event.runID)]).scalar()
                    if ended != .bigint(0) { return .ended }
                }
                let result = try connection.query("""
                    INSERT INTO events (received_at, event_time, event_type, run_id, job_namespace, job_name, producer, event, own)
                    VALUES (now(), $1::TIMESTAMPTZ, $2, $3::UUID, $4, $5, $6, $7::JSON, $8) RETURNING seq
                    """, [.varchar(Self.format(event.eventTime)), event.eventType.map { .varchar($0.rawValue) } ?? .null,
                          .varchar(event.runID), .varchar(event.job.namespace), .varchar(event.job.name), .varchar(event.producer),
                          .varchar(json), .boolean(own)])
                guard case .bigint(let seq)? = try result.scalar() else {
                    throw DuckDBError(code: .executionFailed, message: "the lineage store did not number the event")
                }
                let insert = try connection.cachedStatement("INSERT INTO event_datasets VALUES ($1, $2, $3, $4)")
                for (direction, datasets) in [("input", event.inputs), ("output", event.outputs)] {
                    for dataset in datasets {
                        try insert.bind([.bigint(seq), .varchar(direction), .varchar(dataset.namespace), .varchar(dataset.name)])
                        _ = try insert.run()
                    }
                }
                guard let forwardBound else { return .stored(seq: seq, queued: false) }
                let waiting = try connection.query(Self.queueLengthSQL).scalar()?.int64 ?? 0
                guard waiting < Int64(forwardBound) else { return .stored(seq: seq, queued: false) }
                _ = try connection.query("INSERT INTO outbox VALUES ($1, now())", [.bigint(seq)])
                return .stored(seq: seq, queued: true)
            }
        }
    }

    /// A run that started and never ended.
    public struct UnendedRun: Sendable {
        public let runID: String
        public let job: RunEvent.DatasetName
        public let jobType: String?
    }

    /// The runs of this process's own jobs (their events carry the jobType facet of `integration`
    /// and were recorded as `own`: not those another Duckling forwarded) that have no COMPLETE,
    /// ABORT or FAIL.
    public func unendedRuns(integration: String) async throws -> [UnendedRun] {
        try await connection.run { connection in
            try connection.query("""
                SELECT run_id::VARCHAR, any_value(job_namespace), any_value(job_name), any_value(event->>'$.job.facets.jobType.jobType')
                FROM events WHERE event->>'$.job.facets.jobType.integration' = $1
                GROUP BY run_id
                HAVING bool_or(own) AND bool_or(event_type = 'START') AND NOT bool_or(coalesce(event_type IN ('COMPLETE', 'ABORT', 'FAIL'), false))
                """, [.varchar(integration)]).rows().compactMap { row in
                guard row.count == 4, let id = row[0].text, let namespace = row[1].text, let name = row[2].text else { return nil }
                return UnendedRun(runID: id, job: RunEvent.DatasetName(namespace: namespace, name: name), jobType: row[3].text)
            }
        }
    }

    // MARK: Forwarding queue

    static let queueLengthSQL = "SELECT count(*) FROM outbox"

    /// The oldest events waiting to be forwarded, in the order they were stored.
    public func queued(limit: Int) async throws -> [(seq: Int64, json: String)] {
        try await connection.run { connection in
            // The head of the queue first, then its events: a long queue is not joined whole.
            try connection.query("""
                WITH head AS (SELECT seq FROM outbox ORDER BY seq LIMIT $1)
                SELECT h.seq, e.event::VARCHAR FROM head h JOIN events e USING (seq) ORDER BY h.seq
                """, [.bigint(Int64(limit))]).rows().compactMap { row in
                guard row.count == 2, let seq = row[0].int64, let json = row[1].text else { return nil }
                return (seq, json)
            }
        }
    }

    /// Takes a forwarded event off the queue.
    public func dequeue(_ seq: Int64) async throws {
        try await connection.run { connection in
            _ = try connection.query("DELETE FROM outbox WHERE seq = $1", [.bigint(seq)])
        }
    }

    /// Events waiting to be forwarded.
    public func queueLength() async throws -> Int {
        try await connection.run { connection in
            Int(try connection.query(Self.queueLengthSQL).scalar()?.int64 ?? 0)
        }
    }

    /// Defines (or redefines) a job; answers whether it existed before.
    public func define(_ job: JobDefinition) async throws -> Bool {
        try await connection.run { connection in
            try connection.transaction {
                let existed = try connection.query("SELECT count(*) FROM jobs WHERE namespace = $1 AND name = $2",
                                                   [.varchar(job.namespace), .varchar(job.name)]).scalar()
                _ = try connection.query("""
                    INSERT INTO jobs VALUES ($1, $2, $3, $4::JSON, $5::JSON, now(), now())
                    ON CONFLICT (namespace, name) DO UPDATE SET description = excluded.description, inputs = excluded.inputs,
                        outputs = excluded.outputs, updated_at = now()
                    """, [.varchar(job.namespace), .varchar(job.name), job.description.map { .varchar($0) } ?? .null,
                          .varchar(Self.json(job.inputs)), .varchar(Self.json(job.outputs))])
                return existed != .bigint(0)
            }
        }
    }

    /// The runs of every job as DuckDB sees them: one row per run id.
    static let runsSQL = """
        SELECT run_id, job_namespace, job_name,
               min(event_time) FILTER (WHERE event_type = 'START') AS started_at,
               max(event_time) FILTER (WHERE event_type IN ('COMPLETE', 'ABORT', 'FAIL')) AS ended_at,
               coalesce(arg_max(event_type, seq) FILTER (WHERE event_type IN ('COMPLETE', 'ABORT', 'FAIL')),
                        arg_max(event_type, seq) FILTER (WHERE event_type IN ('START', 'RUNNING'))) AS state,
               count(*) AS events, max(seq) AS last_seq
        FROM events GROUP BY run_id, job_namespace, job_name
        """

    /// `{"jobs": [...]}`: defined jobs and jobs seen in events, each with its latest run.
    public func jobsJSON(name: String? = nil, namespace: String? = nil) async throws -> String {
        try await connection.run { connection in
            let result = try connection.query("""
                WITH runs AS (\(Self.runsSQL)),
                latest AS (SELECT job_namespace AS namespace, job_name AS name, arg_max(runs, last_seq) AS run, count(*) AS run_count
                           FROM runs GROUP BY ALL),
                everything AS (
                    SELECT coalesce(j.namespace, l.namespace) AS namespace, coalesce(j.name, l.name) AS name, j.description,
                           coalesce(j.inputs, '[]'::JSON) AS inputs, coalesce(j.outputs, '[]'::JSON) AS outputs,
                           j.created_at, coalesce(l.run_count, 0) AS run_count,
                           CASE WHEN l.run IS NULL THEN NULL ELSE json_object(
                               'run_id', l.run.run_id::VARCHAR, 'state', l.run.state, 'started_at', \(Self.iso("l.run.started_at")),
                               'ended_at', \(Self.iso("l.run.ended_at")), 'events', l.run.events) END AS latest_run
                    FROM jobs j FULL JOIN latest l ON j.namespace = l.namespace AND j.name = l.name)
                SELECT coalesce(to_json(list(json_object(
                           'namespace', namespace, 'name', name, 'description', description, 'inputs', inputs, 'outputs', outputs,
                           'created_at', \(Self.iso("created_at")), 'run_count', run_count, 'latest_run', latest_run) ORDER BY namespace, name)), '[]')::VARCHAR
                FROM everything WHERE ($1 IS NULL OR name = $1) AND ($2 IS NULL OR namespace = $2)
                """, [name.map { .varchar($0) } ?? .null, namespace.map { .varchar($0) } ?? .null])
            return try result.scalar()?.text ?? "[]"
        }
    }

    /// The runs of one job, newest first, as a JSON array.
    public func runsJSON(job: String, namespace: String?, limit: Int, offset: Int) async throws -> (json: String, total: Int) {
        try await connection.run { connection in
            let filter = "job_name = $1 AND ($2 IS NULL OR job_namespace = $2)"
            let total = try connection.query("SELECT count(DISTINCT run_id) FROM events WHERE \(filter)",
                                             [.varchar(job), namespace.map { .varchar($0) } ?? .null]).scalar()
            let result = try connection.query("""
                WITH runs AS (\(Self.runsSQL)), page AS (
                    SELECT * FROM runs WHERE \(filter) ORDER BY last_seq DESC LIMIT $3 OFFSET $4)
                SELECT coalesce(to_json(list(json_object(
                    'run_id', run_id::VARCHAR, 'job', json_object('namespace', job_namespace, 'name', job_name), 'state', state,
                    'started_at', \(Self.iso("started_at")), 'ended_at', \(Self.iso("ended_at")), 'events', events) ORDER BY last_seq DESC)), '[]')::VARCHAR FROM page
                """, [.varchar(job), namespace.map { .varchar($0) } ?? .null, .bigint(Int64(limit)), .bigint(Int64(offset))])
            let count: Int = if case .bigint(let n)? = total { Int(n) } else { 0 }
            return (try result.scalar()?.text ?? "[]", count)
        }
    }

    /// One run with every event of it in order, or nil.
    public func runJSON(id: String, job: String) async throws -> String? {
        guard UUID(uuidString: id) != nil else { return nil }
        return try await connection.run { connection in
            let result = try connection.query("""
                WITH runs AS (\(Self.runsSQL))
                SELECT json_object('run_id', r.run_id::VARCHAR, 'job', json_object('namespace', r.job_namespace, 'name', r.job_name),
                    'state', r.state, 'started_at', \(Self.iso("r.started_at")), 'ended_at', \(Self.iso("r.ended_at")),
                    'events', (SELECT to_json(list(e.event ORDER BY e.seq)) FROM events e WHERE e.run_id = r.run_id))::VARCHAR
                FROM runs r WHERE r.run_id = $1::UUID AND r.job_name = $2
                """, [.varchar(id), .varchar(job)])
            return try result.scalar()?.text
        }
    }

    /// Every job's edges: datasets it read and wrote.
    public func edges() async throws -> [LineageGraph.Edge] {
        try await connection.run { connection in
            let result = try connection.query("""
                SELECT DISTINCT e.job_namespace, e.job_name, d.direction, d.namespace, d.name
                FROM event_datasets d JOIN events e USING (seq) ORDER BY ALL
                """)
            return try result.rows().compactMap { row in
                guard row.count == 5, let jobNamespace = row[0].text, let jobName = row[1].text, let direction = row[2].text,
                      let namespace = row[3].text, let name = row[4].text else { return nil }
                let job = LineageGraph.Node.job(namespace: jobNamespace, name: jobName)
                let dataset = LineageGraph.Node.dataset(namespace: namespace, name: name)
                return direction == "input" ? LineageGraph.Edge(origin: dataset, destination: job)
                                            : LineageGraph.Edge(origin: job, destination: dataset)
            }
        }
    }

    /// Whether a job of that name was defined or has events.
    public func jobExists(_ name: String, namespace: String?) async throws -> Bool {
        try await connection.run { connection in
            let count = try connection.query("""
                SELECT (SELECT count(*) FROM jobs WHERE name = $1 AND ($2 IS NULL OR namespace = $2))
                     + (SELECT count(*) FROM events WHERE job_name = $1 AND ($2 IS NULL OR job_namespace = $2))
                """, [.varchar(name), namespace.map { .varchar($0) } ?? .null]).scalar()
            return count != .bigint(0) && count != .hugeint(0)
        }
    }

    /// The namespace of a job by name (the defined one first), if any.
    public func namespace(ofJob name: String) async throws -> String? {
        try await connection.run { connection in
            try connection.query("""
                SELECT namespace FROM (SELECT namespace, 0 AS o FROM jobs WHERE name = $1
                                       UNION ALL SELECT job_namespace, 1 FROM events WHERE job_name = $1) ORDER BY o, namespace LIMIT 1
                """, [.varchar(name)]).scalar()?.text
        }
    }

    /// The datasets a defined job names, for the events of its runs.
    public func definition(ofJob name: String, namespace: String) async throws -> (inputs: [RunEvent.DatasetName], outputs: [RunEvent.DatasetName])? {
        let text: String? = try await connection.run { connection in
            try connection.query("SELECT json_object('inputs', inputs, 'outputs', outputs)::VARCHAR FROM jobs WHERE name = $1 AND namespace = $2",
                                 [.varchar(name), .varchar(namespace)]).scalar()?.text
        }
        guard let text, let data = text.data(using: .utf8) else { return nil }
        struct Stored: Decodable { let inputs: [RunEvent.DatasetName]?; let outputs: [RunEvent.DatasetName]? }
        let stored = try JSONDecoder().decode(Stored.self, from: data)
        return (stored.inputs ?? [], stored.outputs ?? [])
    }

    /// SQL for a TIMESTAMPTZ column as RFC 3339 in UTC (the store's time zone).
    static func iso(_ column: String) -> String {
        "strftime(\(column), '%Y-%m-%dT%H:%M:%S.%fZ')"
    }

    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    static func json(_ value: some Encodable) -> String {
        (try? JSONEncoder().encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }
}

/// A job definition from `POST /jobs`.
public struct JobDefinition: Sendable, Codable {
    public let name: String
    public let namespace: String
    public let description: String?
    public let inputs: [RunEvent.DatasetName]
    public let outputs: [RunEvent.DatasetName]

    public init(name: String, namespace: String, description: String?, inputs: [RunEvent.DatasetName], outputs: [RunEvent.DatasetName]) {
        self.name = name
        self.namespace = namespace
        self.description = description
        self.inputs = inputs
        self.outputs = outputs
    }
}
