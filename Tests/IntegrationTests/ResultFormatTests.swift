import DucklingTestSupport
import Foundation
import Testing

/// Parquet and Arrow IPC results read by pyarrow (scripts/tests/result-formats.py) from a
/// `duckling serve` process, as users load them into pandas or Arrow.
@Suite(.serialized) struct ResultFormatTests {
    typealias Object = [String: Any]

    /// Runs a scenario of the script against a fresh server; returns its report and the server.
    func scenario(_ name: String, _ extra: [String] = [], check: (Object, ServerProcess) async throws -> Void) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try ServerProcess.writeConfiguration(in: directory)
        let server = try ServerProcess(config: config, directory: directory, environment: ProcessEnvironment.clean())
        defer { _ = server.terminate() }
        try await server.waitUntilHealthy()
        let report = try server.runClient("result-formats.py", [name, "--pid", String(server.process.processIdentifier)] + extra)
        try await check(report, server)
    }

    @Test func pyarrowReadsEveryTypeWithTheJSONResultsValues() async throws {
        try await scenario("types") { report, _ in
            let columns = try #require(report["columns"] as? Int)
            for format in ["arrow", "parquet"] {
                let result = try #require(report[format] as? Object, "\(format) missing: \(report)")
                let matched = try #require(result["matched"] as? Int)
                let skipped = try #require(result["skipped"] as? [String])
                let byDuckDB = format == "parquet" ? (report["parquet_read_by_duckdb"] as? [String] ?? []) : []
                #expect((result["mismatched"] as? [String]) == [], "\(format): \(result)")
                // Every column is either equal to the JSON result or named, with its reason, as one the format cannot hold.
                #expect(matched + skipped.count + byDuckDB.count == columns, "\(format): \(result)")
                #expect(report["\(format)_ordered"] as? Bool == true)
            }
            #expect((report["arrow"] as? Object)?["matched"] as? Int ?? 0 >= 53)
        }
    }

    @Test func tenMillionRowsStreamInBothFormatsInBoundedMemory() async throws {
        try await scenario("large") { report, _ in
            for format in ["arrow", "parquet"] {
                let result = try #require(report[format] as? Object, "\(report)")
                #expect(result["rows"] as? Int == 10_000_000, "\(format): \(result)")
                let growth = try #require(result["rss_growth_mb"] as? Double)
                #expect(growth < 200, "\(format): the server's RSS grew by \(growth) MB")
            }
            #expect(report["arrow_last_id"] as? Int == 9_999_999)
            #expect(report["parquet_last_id"] as? Int == 9_999_999)
            #expect(report["parquet_row_groups"] as? Int ?? 0 > 1, "the file is written row group by row group")
        }
    }

    @Test func aTimeLimitAndADisconnectStopAParquetExportMidway() async throws {
        try await scenario("limits") { report, server in
            let timeout = try #require(report["timeout"] as? Object)
            // The export was under way (200, bytes sent) when its time limit cut it short.
            #expect(timeout["status"] as? Int == 200 && timeout["complete"] as? Bool == false, "\(timeout)")
            #expect((timeout["bytes"] as? Int ?? 0) > 0 && (timeout["seconds"] as? Double ?? 99) < 10, "\(timeout)")
            #expect(report["disconnect_status"] as? Int == 200)
            // Both queries end on the server: one timed out, one cancelled, and no connection is held.
            var statistics: Object = [:]
            for _ in 0..<50 {
                statistics = try await server.request(.GET, "/api/statistics").1
                let queries = statistics["queries"] as? Object ?? [:]
                let pool = statistics["pool"] as? Object ?? [:]
                if queries["timed_out"] as? Int == 1, queries["cancelled"] as? Int == 1, pool["in_use"] as? Int == 0 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let queries = statistics["queries"] as? Object ?? [:]
            #expect(queries["timed_out"] as? Int == 1 && queries["cancelled"] as? Int == 1, "\(queries)")
            #expect((statistics["pool"] as? Object)?["in_use"] as? Int == 0, "\(statistics)")
            // The 100M-row query is not running on: the process goes idle.
            let before = Self.cpuSeconds(of: server.process.processIdentifier)
            try await Task.sleep(for: .seconds(1))
            let used = Self.cpuSeconds(of: server.process.processIdentifier) - before
            #expect(used < 0.5, "the server used \(used) s of CPU in the second after both exports ended")
            // The next export works.
            let next = try await server.headers(.POST, "/api/query?format=parquet", json: ["sql": "SELECT 7 AS n"])
            #expect(next.status == 200 && next.body.count > 8, "\(next.status)")
        }
    }

    @Test func anUnknownFormatIsRefusedAndBinaryResultsAreFiles() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try ServerProcess(config: try ServerProcess.writeConfiguration(in: directory), directory: directory, environment: ProcessEnvironment.clean())
        defer { _ = server.terminate() }
        try await server.waitUntilHealthy()
        let refused = try await server.send(.POST, "/api/query?format=xlsx", json: ["sql": "SELECT 1"])
        #expect(refused.0 == 400 && (refused.1["error"] as? Object)?["code"] as? String == "invalid_format", "\(refused.1)")
        // A query that fails before its first byte gets an error status with DuckDB's message, in both formats.
        for format in ["parquet", "arrow"] {
            let failed = try await server.send(.POST, "/api/query?format=\(format)", json: ["sql": "SELECT CAST('duck' AS INTEGER)"])
            #expect(failed.0 == 400 && ((failed.1["error"] as? Object)?["message"] as? String ?? "").contains("Could not convert"), "\(format): \(failed.1)")
        }
        // Duplicate names (a join's two `id`s) are written as DuckDB's COPY writes them: `id`, `id_1`.
        let duplicate = try await server.headers(.POST, "/api/query?format=parquet", json: ["sql": "SELECT 1 AS id, 2 AS id, 3 AS ID"])
        #expect(duplicate.status == 200 && Array(duplicate.body.prefix(4)) == [0x50, 0x41, 0x52, 0x31], "\(String(decoding: duplicate.body, as: UTF8.self))")
        let headers = try await server.headers(.POST, "/api/query?format=parquet", json: ["sql": "SELECT 42 AS answer"])
        #expect(headers.status == 200)
        #expect(headers.fields["content-type"] == "application/vnd.apache.parquet")
        #expect(headers.fields["content-disposition"] == "attachment; filename=\"result.parquet\"")
        let magic: [UInt8] = [0x50, 0x41, 0x52, 0x31]  // "PAR1"
        #expect(Array(headers.body.prefix(4)) == magic && Array(headers.body.suffix(4)) == magic)
    }

    /// User and system CPU seconds of a process (`/proc/PID/stat`).
    static func cpuSeconds(of pid: Int32) -> Double {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
