import Foundation
import Hummingbird
import NIOCore

/// `POST /bench/floor`, only when `DUCKLING_BENCH_FLOOR_BYTES=N` is set (bench/query-api does):
/// a constant JSON body of N bytes with no query behind it, so the benchmark measures what this
/// binary's HTTP stack costs by itself beside what a query costs.
struct BenchFloorController {
    let body: ByteBuffer

    /// The controller the environment asks for, if any.
    static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> BenchFloorController? {
        guard let bytes = environment["DUCKLING_BENCH_FLOOR_BYTES"].flatMap(Int.init), (16...65_536).contains(bytes) else { return nil }
        let text = #"{"success":true,"padding":""# + String(repeating: "x", count: max(0, bytes - 29)) + #""}"#
        return BenchFloorController(body: ByteBuffer(string: text))
    }

    func addRoutes(to routes: RouteTable) {
        let body = body
        routes.group("/bench", .public, scope: .server).post("/floor") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
        }
    }
}
