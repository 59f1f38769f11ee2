public import Foundation

/// An OpenLineage 2-0-2 run event, checked: the fields Duckling reads out of it, and the event
/// itself as it was given (stored and forwarded unchanged).
public struct RunEvent: Sendable {
    public enum EventType: String, Sendable, CaseIterable, Codable {
        case start = "START", running = "RUNNING", complete = "COMPLETE", abort = "ABORT", fail = "FAIL", other = "OTHER"

        /// Whether a run with this event is over.
        public var ends: Bool { self == .complete || self == .abort || self == .fail }
    }

    public struct DatasetName: Sendable, Hashable, Codable {
        public let namespace: String
        public let name: String

        public init(namespace: String, name: String) {
            self.namespace = namespace
            self.name = name
        }
    }

    public static let schemaURL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"

    public let eventType: EventType?
    public let eventTime: Date
    public let runID: String
    public let job: DatasetName
    public let inputs: [DatasetName]
    public let outputs: [DatasetName]
    public let producer: String
    /// The event's JSON, on one line.
    public let json: [UInt8]

    /// A problem with an event, naming the field by its path (`run.runId`, `inputs[1].name`).
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public let field: String
        public let reason: String
        public var description: String { "\(field): \(reason)" }
    }

    /// Checks `data`, a client's JSON, against the spec's required fields and formats.
    public static func parse(_ data: Data) throws(Invalid) -> RunEvent {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw Invalid(field: "$", reason: "expected a JSON object (an OpenLineage RunEvent)")
        }
        return try parse(object)
    }

    public static func parse(_ object: [String: Any]) throws(Invalid) -> RunEvent {
        var eventType: EventType?
        if let value = object["eventType"], !(value is NSNull) {
            guard let text = value as? String, let type = EventType(rawValue: text) else {
                throw Invalid(field: "eventType", reason: "must be one of \(EventType.allCases.map(\.rawValue).joined(separator: ", ")), got \(describe(value))")
            }
            eventType = type
        }
        let timeText = try string(object, "eventTime", path: "eventTime")
        guard let eventTime = parseTime(timeText) else {
            throw Invalid(field: "eventTime", reason: "must be an ISO-8601 date-time with a time zone, got \"\(timeText)\"")
        }
        let producer = try string(object, "producer", path: "producer")
        guard isURI(producer) else { throw Invalid(field: "producer", reason: "must be a URI, got \"\(producer)\"") }
        let schema = try string(object, "schemaURL", path: "schemaURL")
        guard isURI(schema) else { throw Invalid(field: "schemaURL", reason: "must be a URI, got \"\(schema)\"") }
        guard let run = object["run"] as? [String: Any] else { throw Invalid(field: "run", reason: object["run"] == nil ? "is required" : "must be an object") }
        let runID = try string(run, "runId", path: "run.runId")
        guard let uuid = UUID(uuidString: runID) else { throw Invalid(field: "run.runId", reason: "must be a UUID, got \"\(runID)\"") }
        guard let job = object["job"] as? [String: Any] else { throw Invalid(field: "job", reason: object["job"] == nil ? "is required" : "must be an object") }
        let jobName = DatasetName(namespace: try string(job, "namespace", path: "job.namespace"), name: try string(job, "name", path: "job.name"))
        try facets(run["facets"], path: "run.facets")
        try facets(job["facets"], path: "job.facets")
        let inputs = try datasets(object["inputs"], path: "inputs", facetKeys: ["facets", "inputFacets"])
        let outputs = try datasets(object["outputs"], path: "outputs", facetKeys: ["facets", "outputFacets"])
        guard let json = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            throw Invalid(field: "$", reason: "cannot be written as JSON")
        }
        return RunEvent(eventType: eventType, eventTime: eventTime, runID: uuid.uuidString.lowercased(), job: jobName,
                        inputs: inputs, outputs: outputs, producer: producer, json: Array(json))
    }

    private static func string(_ object: [String: Any], _ key: String, path: String) throws(Invalid) -> String {
        guard let value = object[key], !(value is NSNull) else { throw Invalid(field: path, reason: "is required") }
        guard let text = value as? String, !text.isEmpty else { throw Invalid(field: path, reason: "must be a non-empty string, got \(describe(value))") }
        return text
    }

    private static func datasets(_ value: Any?, path: String, facetKeys: [String]) throws(Invalid) -> [DatasetName] {
        guard let value, !(value is NSNull) else { return [] }
        guard let list = value as? [Any] else { throw Invalid(field: path, reason: "must be an array of datasets") }
        var names: [DatasetName] = []
        for (index, item) in list.enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard let dataset = item as? [String: Any] else { throw Invalid(field: itemPath, reason: "must be an object") }
            names.append(DatasetName(namespace: try string(dataset, "namespace", path: itemPath + ".namespace"),
                                     name: try string(dataset, "name", path: itemPath + ".name")))
            for key in facetKeys { try facets(dataset[key], path: "\(itemPath).\(key)") }
        }
        return names
    }

    /// Facets are objects of objects; each facet carries `_producer` and `_schemaURL` (URIs).
    private static func facets(_ value: Any?, path: String) throws(Invalid) {
        guard let value, !(value is NSNull) else { return }
        guard let facets = value as? [String: Any] else { throw Invalid(field: path, reason: "must be an object of facets") }
        for (name, facet) in facets.sorted(by: { $0.key < $1.key }) {
            guard let facet = facet as? [String: Any] else { throw Invalid(field: "\(path).\(name)", reason: "must be an object") }
            for key in ["_producer", "_schemaURL"] {
                let text = try string(facet, key, path: "\(path).\(name).\(key)")
                guard isURI(text) else { throw Invalid(field: "\(path).\(name).\(key)", reason: "must be a URI, got \"\(text)\"") }
            }
        }
    }

    static func parseTime(_ text: String) -> Date? {
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = withFraction.date(from: text) { return date }
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        return plain.date(from: text)
    }

    static func isURI(_ text: String) -> Bool {
        guard let url = URL(string: text), let scheme = url.scheme, !scheme.isEmpty else { return false }
        return text.count > scheme.count + 1
    }

    private static func describe(_ value: Any) -> String {
        switch value {
        case let text as String: "\"\(text)\""
        case is NSNull: "null"
        case is [Any]: "an array"
        case is [String: Any]: "an object"
        default: "\(value)"
        }
    }
}
