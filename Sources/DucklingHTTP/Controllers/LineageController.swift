import DucklingCore
import Foundation
import Hummingbird
import NIOCore

/// Lineage: Marquez's OpenLineage endpoint (`POST` and `GET /api/v1/lineage`) and the seed's job
/// endpoints, which are thin writers of OpenLineage events. Keys for one database cannot use them:
/// lineage tells of every database.
struct LineageController {
    let lineage: LineageService

    static let defaultNamespace = "duckling"

    func addRoutes(to routes: RouteTable) {
        let read = routes.group("", .read, scope: .everyDatabase)
        let write = routes.group("", .write, scope: .everyDatabase)

        write.post("/api/v1/lineage") { request, context in
            let body = try await RequestBodyReader.collect(request, context: context, limit: 4 << 20)
            let event: RunEvent
            do throws(RunEvent.Invalid) {
                event = try RunEvent.parse(Data(body.readableBytesView))
            } catch {
                throw APIError.badRequest("invalid_event", error.description).field(error.field)
            }
            try await lineage.record(event)
            return EditedResponse(status: .created, response: MessageResponse(success: true, message: "event stored"))
        }
        read.get("/api/v1/lineage") { request, _ in
            guard let id = request.uri.queryParameters.get("nodeId"), let node = LineageGraph.Node(id: id) else {
                throw APIError.badRequest("invalid_node_id", "nodeId must be dataset:NAMESPACE:NAME or job:NAMESPACE:NAME")
            }
            let depth = try Self.integer(request, "depth", default: 20, in: 0...100)
            return GraphResponse(graph: LineageGraph(around: node, depth: depth, edges: try await lineage.store.edges()))
        }

        write.post("/jobs") { request, context in
            let body = try await RequestBodyReader.decode(JobRequest.self, from: request, context: context, limit: 1 << 20)
            let definition = try body.definition()
            let existed = try await lineage.store.define(definition)
            return EditedResponse(status: existed ? .ok : .created, response: RawJSON(try await job(definition.name, namespace: definition.namespace)))
        }
        read.get("/jobs") { request, _ in
            RawJSON("{\"success\": true, \"jobs\": \(try await lineage.store.jobsJSON(namespace: request.uri.queryParameters.get("namespace")))}")
        }
        read.get("/jobs/:job") { request, context in
            RawJSON(try await job(try Self.parameter(context, "job"), namespace: request.uri.queryParameters.get("namespace")))
        }
        write.post("/jobs/:job/runs") { request, context in
            let name = try Self.parameter(context, "job")
            let namespace = try await namespace(of: name, request)
            let definition = try await lineage.store.definition(ofJob: name, namespace: namespace)
            let runID = UUID()
            let event = try build(.start, runID: runID, job: name, namespace: namespace, definition: definition, error: nil)
            try await lineage.record(event)
            return EditedResponse(status: .created, response: RunStarted(runID: runID.uuidString.lowercased(), job: name, namespace: namespace))
        }
        write.put("/jobs/:job/runs/:run/complete") { request, context in
            let name = try Self.parameter(context, "job")
            let runID = try Self.parameter(context, "run")
            let bytes = try await RequestBodyReader.collect(request, context: context, limit: 1 << 20)
            let body = bytes.readableBytes == 0 ? CompleteRequest(success: nil, error: nil) : try Self.decode(CompleteRequest.self, bytes)
            guard let run = try await lineage.store.runJSON(id: runID, job: name), let uuid = UUID(uuidString: runID),
                  let stored = try? JSONSerialization.jsonObject(with: Data(run.utf8)) as? [String: Any],
                  let namespace = (stored["job"] as? [String: Any])?["namespace"] as? String else {
                throw APIError.notFound("run_not_found", "job '\(name)' has no run '\(runID)'")
            }
            // The run's own namespace, whatever else of that name is defined.
            let definition = try await lineage.store.definition(ofJob: name, namespace: namespace)
            let failed = body.success == false || body.error != nil
            let event = try build(failed ? .fail : .complete, runID: uuid, job: name, namespace: namespace, definition: definition,
                                  error: failed ? (body.error ?? "failed") : nil)
            guard try await lineage.record(event, unlessEnded: true) else {
                throw APIError(.conflict, code: "run_finished", message: "run '\(runID)' has already ended")
            }
            return RawJSON(try await lineage.store.runJSON(id: runID, job: name) ?? "{}")
        }
        read.get("/jobs/:job/runs") { request, context in
            let name = try Self.parameter(context, "job")
            let limit = try Self.integer(request, "limit", default: 50, in: 1...1000)
            let offset = try Self.integer(request, "offset", default: 0, in: 0...Int(Int32.max))
            let (runs, total) = try await lineage.store.runsJSON(job: name, namespace: request.uri.queryParameters.get("namespace"),
                                                                 limit: limit, offset: offset)
            return RawJSON("{\"success\": true, \"runs\": \(runs), \"total\": \(total), \"limit\": \(limit), \"offset\": \(offset)}")
        }
        read.get("/jobs/:job/runs/:run") { _, context in
            let name = try Self.parameter(context, "job")
            let runID = try Self.parameter(context, "run")
            guard let run = try await lineage.store.runJSON(id: runID, job: name) else {
                throw APIError.notFound("run_not_found", "job '\(name)' has no run '\(runID)'")
            }
            return RawJSON(run)
        }
    }

    private func job(_ name: String, namespace: String?) async throws -> String {
        let text = try await lineage.store.jobsJSON(name: name, namespace: namespace)
        guard let list = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [Any], let first = list.first,
              let data = try? JSONSerialization.data(withJSONObject: first, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            throw APIError.notFound("job_not_found", "no job named '\(name)'")
        }
        return String(decoding: data, as: UTF8.self)
    }

    private func namespace(of name: String, _ request: Request) async throws -> String {
        if let namespace = request.uri.queryParameters.get("namespace") {
            guard try await lineage.store.jobExists(name, namespace: namespace) else {
                throw APIError.notFound("job_not_found", "no job named '\(name)' in namespace '\(namespace)'")
            }
            return namespace
        }
        guard let namespace = try await lineage.store.namespace(ofJob: name) else {
            throw APIError.notFound("job_not_found", "no job named '\(name)': define it with POST /jobs first")
        }
        return namespace
    }

    /// A path parameter, percent-decoded (the router matches the raw path).
    static func parameter(_ context: DucklingRequestContext, _ name: String) throws -> String {
        let raw = try context.parameters.require(name)
        guard let decoded = raw.removingPercentEncoding, !decoded.isEmpty else {
            throw APIError.badRequest("invalid_parameter", "\(name) is not valid percent-encoded text")
        }
        return decoded
    }

    static func decode<T: Decodable>(_ type: T.Type, _ bytes: ByteBuffer) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes.readableBytesView))
        } catch {
            throw APIError.badRequest("invalid_request", "the body is not the expected JSON: \(error)")
        }
    }

    private func build(_ type: RunEvent.EventType, runID: UUID, job: String, namespace: String,
                       definition: (inputs: [RunEvent.DatasetName], outputs: [RunEvent.DatasetName])?, error: String?) throws -> RunEvent {
        do throws(RunEvent.Invalid) {
            return try lineage.event(type, runID: runID, job: RunEvent.DatasetName(namespace: namespace, name: job),
                                     inputs: (definition?.inputs ?? []).map { .init(namespace: $0.namespace, name: $0.name) },
                                     outputs: (definition?.outputs ?? []).map { .init(namespace: $0.namespace, name: $0.name) },
                                     error: error)
        } catch {
            throw APIError.badRequest("invalid_event", error.description)
        }
    }

    static func integer(_ request: Request, _ name: String, default value: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text = request.uri.queryParameters.get(name) else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw APIError.badRequest("invalid_parameter", "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }
}

/// A JSON body DuckDB already wrote.
struct RawJSON: ResponseGenerator {
    let text: String
    init(_ text: String) { self.text = text }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

struct JobRequest: Decodable {
    let name: String
    let namespace: String?
    let description: String?
    let inputs: [RunEvent.DatasetName]?
    let outputs: [RunEvent.DatasetName]?

    func definition() throws -> JobDefinition {
        guard !name.isEmpty, name.count <= 256, !name.contains("/") else {
            throw APIError.badRequest("invalid_job", "name must be 1 to 256 characters without '/'")
        }
        let namespace = namespace ?? LineageController.defaultNamespace
        guard !namespace.isEmpty else { throw APIError.badRequest("invalid_job", "namespace must not be empty") }
        for dataset in (inputs ?? []) + (outputs ?? []) where dataset.namespace.isEmpty || dataset.name.isEmpty {
            throw APIError.badRequest("invalid_job", "every input and output needs a namespace and a name")
        }
        return JobDefinition(name: name, namespace: namespace, description: description, inputs: inputs ?? [], outputs: outputs ?? [])
    }
}

struct CompleteRequest: Decodable {
    let success: Bool?
    let error: String?
}

struct RunStarted: ResponseEncodable {
    let success = true
    let runID: String
    let job: String
    let namespace: String
    enum CodingKeys: String, CodingKey { case success, runID = "run_id", job, namespace }
}

struct GraphResponse: ResponseEncodable {
    let graph: LineageGraph
    func encode(to encoder: any Encoder) throws { try graph.encode(to: encoder) }
}
