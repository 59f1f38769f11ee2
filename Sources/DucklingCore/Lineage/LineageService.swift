public import Foundation
public import Logging

/// Lineage (DESIGN.md §9): every run event, from Duckling's own jobs or from any OpenLineage
/// client, is checked, stored in the ``LineageStore`` and published on the bus as a
/// `lineage_event`.
public final class LineageService: Sendable {
    public let store: LineageStore
    let bus: EventBus?
    /// Sends every stored event on to `OPENLINEAGE_URL`, when it is set and this process forwards.
    public let forwarder: LineageForwarder?
    /// The forwarding queue's bound when forwarding is on (events are queued even by a process that
    /// does not send them: the CLI's, sent by the server when it next runs).
    let forwardQueueSize: Int?
    /// The `producer` of Duckling's own events, a URI naming Duckling and its version.
    public let producer: String
    let logger: Logger

    public init(store: LineageStore, bus: EventBus?, version: String, forwardQueueSize: Int? = nil, forwarder: LineageForwarder? = nil,
                logger: Logger) {
        self.store = store
        self.bus = bus
        self.forwarder = forwarder
        self.forwardQueueSize = forwarder?.queueSize ?? forwardQueueSize
        producer = "urn:duckling:server:\(version)"
        self.logger = logger
    }

    /// Stores a checked event, publishes it and queues it for forwarding; false (nothing stored)
    /// when `unlessEnded` and its run has already ended. An event stored before is taken again
    /// without storing, publishing or forwarding it twice.
    @discardableResult
    /// `own` marks an event of this process's own jobs (``JobReporter``'s).
    public func record(_ event: RunEvent, unlessEnded: Bool = false, own: Bool = false) async throws -> Bool {
        switch try await store.record(event, unlessEnded: unlessEnded, forwardBound: forwardQueueSize, own: own) {
        case .ended:
            return false
        case .duplicate:
            return true
        case .stored(_, let queued):
            bus?.publish(.lineageEvent, json: event.json)
            if queued {
                forwarder?.queuedOne()
            } else if forwardQueueSize != nil {
                forwarder?.droppedOne()
                if forwarder == nil { logger.warning("the lineage forwarding queue is full: this event is kept here but not forwarded") }
            }
            return true
        }
    }

    /// The lineage of a server or CLI process: `DATA_DIR/lineage.db`, with its forwarding queue
    /// bounded when `OPENLINEAGE_URL` is set, and a forwarder when `forwards` (the server).
    public static func make(configuration: DucklingConfiguration, bus: EventBus?, version: String, forwards: Bool,
                            logger: Logger) throws -> LineageService {
        let store = try LineageStore(path: configuration.server.dataDirectory + "/lineage.db", logger: logger)
        let settings = configuration.lineage
        return LineageService(store: store, bus: bus, version: version, forwardQueueSize: settings.forwardURL == nil ? nil : settings.queueSize,
                              forwarder: forwards ? LineageForwarder(store: store, settings: settings, logger: logger) : nil, logger: logger)
    }

    /// Opens the store, and ends every run of Duckling's own jobs that a crash or kill left
    /// without an ending with an ABORT saying so (the sync log marks those runs interrupted too).
    /// The sweep is best-effort: a failure is logged, and lineage goes on.
    public func open() async throws {
        try await store.open()
        do {
            for run in try await store.unendedRuns(integration: Self.integration) {
                guard let id = UUID(uuidString: run.runID) else { continue }
                let abort = try event(.abort, runID: id, job: run.job, jobType: run.jobType,
                                      error: "interrupted: the server stopped before the run ended")
                try await record(abort, own: true)
                logger.notice("a job's run was interrupted by a stop; its lineage now ends with ABORT",
                              metadata: ["duckling.job": .string(run.job.name), "duckling.run_id": .string(run.runID)])
            }
        } catch {
            logger.warning("could not end the runs a stop interrupted", metadata: ["duckling.error": .string(String(describing: error))])
        }
    }

    /// The `integration` of the jobType facet of Duckling's own jobs.
    static let integration = "DUCKLING"

    // MARK: Duckling's own events

    /// A dataset of one of Duckling's events, with its facets.
    public struct Dataset: Sendable {
        public let name: RunEvent.DatasetName
        /// Column names and DuckDB types, for the schema facet.
        public var schema: [(name: String, type: String)]?
        /// Rows written, for the output statistics facet.
        public var rowCount: Int?
        public var byteCount: Int64?

        public init(namespace: String, name: String, schema: [(name: String, type: String)]? = nil, rowCount: Int? = nil, byteCount: Int64? = nil) {
            self.name = RunEvent.DatasetName(namespace: namespace, name: name)
            self.schema = schema
            self.rowCount = rowCount
            self.byteCount = byteCount
        }
    }

    static let facetSchemas = [
        "schema": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
        "outputStatistics": "https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet",
        "errorMessage": "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
        "documentation": "https://openlineage.io/spec/facets/1-1-0/DocumentationJobFacet.json#/$defs/DocumentationJobFacet",
        "jobType": "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
    ]

    func facet(_ name: String, _ fields: [String: Any]) -> [String: Any] {
        fields.merging(["_producer": producer, "_schemaURL": Self.facetSchemas[name] ?? RunEvent.schemaURL]) { $1 }
    }

    /// The RunEvent of one transition of one of Duckling's runs, as the spec has it.
    /// `jobType` marks Duckling's own jobs (the jobType facet, integration `DUCKLING`).
    public func event(_ type: RunEvent.EventType, runID: UUID, job: RunEvent.DatasetName, description: String? = nil, jobType: String? = nil,
                      inputs: [Dataset] = [], outputs: [Dataset] = [], error: String? = nil, at time: Date = Date()) throws(RunEvent.Invalid) -> RunEvent {
        func dataset(_ dataset: Dataset, output: Bool) -> [String: Any] {
            var object: [String: Any] = ["namespace": dataset.name.namespace, "name": dataset.name.name]
            if let schema = dataset.schema {
                object["facets"] = ["schema": facet("schema", ["fields": schema.map { ["name": $0.name, "type": $0.type] }])]
            }
            if output, dataset.rowCount != nil || dataset.byteCount != nil {
                var statistics: [String: Any] = [:]
                if let rows = dataset.rowCount { statistics["rowCount"] = rows }
                if let bytes = dataset.byteCount { statistics["size"] = bytes }
                object["outputFacets"] = ["outputStatistics": facet("outputStatistics", statistics)]
            }
            return object
        }
        var run: [String: Any] = ["runId": runID.uuidString.lowercased()]
        if let error {
            run["facets"] = ["errorMessage": facet("errorMessage", ["message": error, "programmingLanguage": "Swift"])]
        }
        var jobObject: [String: Any] = ["namespace": job.namespace, "name": job.name]
        var jobFacets: [String: Any] = [:]
        if let description { jobFacets["documentation"] = facet("documentation", ["description": description]) }
        if let jobType {
            jobFacets["jobType"] = facet("jobType", ["processingType": "BATCH", "integration": Self.integration, "jobType": jobType])
        }
        if !jobFacets.isEmpty { jobObject["facets"] = jobFacets }
        return try RunEvent.parse([
            "eventType": type.rawValue, "eventTime": LineageStore.format(time), "producer": producer, "schemaURL": RunEvent.schemaURL,
            "run": run, "job": jobObject,
            "inputs": inputs.map { dataset($0, output: false) }, "outputs": outputs.map { dataset($0, output: true) },
        ])
    }
}
