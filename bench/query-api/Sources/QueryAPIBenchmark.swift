import DuckDBKit
import Foundation

/// Throughput and latency of `POST /api/query` (the release `duckling serve`, loaded by wrk) beside
/// the same queries run in-process through DuckDBKit, at 1, 8 and 32 concurrent clients, and the
/// speed of 10M-row Parquet and Arrow exports beside DuckDB's own `COPY … TO` Parquet, in one run.
@main
struct QueryAPIBenchmark {
    struct Options {
        var rows = 1_000_000
        var seconds = 10
        var concurrency = [1, 8, 32]
        var duckling = ".build/release/duckling"
        var output = "bench/results"
        /// Rounds of the HTTP measurements (each a run with instrumentation on, then off).
        var rounds = 3
        /// Rows of the export measurements (Parquet, Arrow and DuckDB's own COPY … TO).
        var exportRows = 10_000_000
        /// Runs of each export; the median is reported.
        var exportRuns = 3
        /// Measure the exports only (no wrk runs).
        var exportsOnly = false

        init(arguments: [String]) {
            var iterator = arguments.dropFirst().makeIterator()
            while let argument = iterator.next() {
                switch argument {
                case "--rows": rows = iterator.next().flatMap(Int.init) ?? rows
                case "--seconds": seconds = iterator.next().flatMap(Int.init) ?? seconds
                case "--concurrency": concurrency = iterator.next()?.split(separator: ",").compactMap { Int($0) } ?? concurrency
                case "--duckling": duckling = iterator.next() ?? duckling
                case "--output": output = iterator.next() ?? output
                case "--rounds": rounds = iterator.next().flatMap(Int.init) ?? rounds
                case "--export-rows": exportRows = iterator.next().flatMap(Int.init) ?? exportRows
                case "--export-runs": exportRuns = iterator.next().flatMap(Int.init) ?? exportRuns
                case "--exports-only": exportsOnly = true
                default: fatalError("unknown argument \(argument)")
                }
            }
        }
    }

    struct Workload {
        let name: String
        let sql: String
        /// The JSON body of one request (a random id for the point lookup).
        let body: String
    }

    struct Measurement: Codable {
        let workload: String
        let path: String
        let clients: Int
        let requests: Int
        let errors: Int
        let requestsPerSecond: Double
        let p50Milliseconds: Double
        let p99Milliseconds: Double
    }

    /// One export of a large result: over HTTP in a streamed format, or DuckDB's own `COPY … TO`.
    struct Export: Codable {
        let format: String
        let path: String
        let rows: Int
        let bytes: Int
        let seconds: Double
        var megabytesPerSecond: Double { Double(bytes) / 1_048_576 / seconds }
        var rowsPerSecond: Double { Double(rows) / seconds }
    }

    struct Results: Codable {
        let queries: [Measurement]
        let exports: [Export]
        let cache: CacheMemory?
    }

    /// The export query: the shape of `items`, generated, so its size does not depend on --rows.
    static func exportSQL(rows: Int) -> String {
        "SELECT range AS id, 'category_' || (range % 10) AS category, CAST((range % 100000) / 100.0 AS DECIMAL(12,2)) AS amount, "
            + "TIMESTAMP '2024-01-01' + range * INTERVAL 1 SECOND AS created_at, md5(range::VARCHAR) AS note FROM range(\(rows))"
    }

    static func main() async throws {
        let options = Options(arguments: CommandLine.arguments)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("duckling-bench-\(UUID().uuidString)").path
        let data = root + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }

        log("creating \(options.rows) rows")
        try createTable(path: data + "/duckling-default.db", rows: options.rows)
        let workloads = [
            Workload(name: "point lookup", sql: "SELECT * FROM items WHERE id = $1", body: ""),
            Workload(name: "small aggregate", sql: "SELECT category, count(*) AS n, sum(amount) AS total FROM items GROUP BY category ORDER BY category", body: ""),
            Workload(name: "SELECT 1", sql: "SELECT 1", body: ""),
        ]

        var results: [Measurement] = []
        var exports: [Export] = []
        var cache: CacheMemory?
        let key = "bench-\(UUID().uuidString)"
        // A second server on a copy of the file, with the query path's statistics and circuit
        // breaker turned off, measured turn about with the first: their cost on the query path.
        let bare = root + "/bare"
        try FileManager.default.createDirectory(atPath: bare + "/data", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: data + "/duckling-default.db", toPath: bare + "/data/duckling-default.db")
        try "query: { statistics: false, breaker_failures: 0 }\n".write(toFile: bare + "/duckling.yaml", atomically: true, encoding: .utf8)
        let port = Int.random(in: 41000...44000)
        let barePort = port + 4000
        // The HTTP floor: the same binary answering POST /bench/floor with a constant body as long
        // as the SELECT 1 answer, with no query behind it.
        let floorBytes = #"{"columns":[{"name":"1","type":"INTEGER"}],"rows":[[1]],"row_count":1,"elapsed_ms":0.123,"success":true}"#.utf8.count
        let server = try startServer(options.duckling, data: data, port: port, key: key, floorBytes: floorBytes)
        let bareServer = try startServer(options.duckling, data: bare + "/data", port: barePort, key: key, config: bare + "/duckling.yaml")
        do {
            try await waitUntilHealthy(port: port)
            try await waitUntilHealthy(port: barePort)
            try checkAnswers(port: port, key: key, rows: options.rows)
            try checkAnswers(port: barePort, key: key, rows: options.rows)
            for format in ["parquet", "arrow"] {
                log("HTTP \(format) export of \(options.exportRows) rows, \(options.exportRuns) runs")
                exports.append(try exportOverHTTP(format: format, rows: options.exportRows, runs: options.exportRuns, port: port, key: key, root: root))
            }
            for workload in options.exportsOnly ? [] : workloads {
                log("HTTP \(workload.name), warming up")
                _ = try runWrk(workload, clients: 8, seconds: 2, port: port, key: key, rows: options.rows, root: root)
                _ = try runWrk(workload, clients: 8, seconds: 2, port: barePort, key: key, rows: options.rows, root: root)
                for clients in options.concurrency {
                    // Turn about in rounds, so drift on the machine falls on both sides alike.
                    var on: [Measurement] = []
                    var off: [Measurement] = []
                    var floor: [Measurement] = []
                    for round in 1...options.rounds {
                        log("HTTP \(workload.name), \(clients) clients, round \(round) of \(options.rounds)")
                        on.append(try runWrk(workload, clients: clients, seconds: options.seconds, port: port, key: key, rows: options.rows, root: root))
                        off.append(try runWrk(workload, clients: clients, seconds: options.seconds, port: barePort, key: key, rows: options.rows, root: root,
                                              label: Self.barePath))
                        if workload.sql == "SELECT 1" {
                            floor.append(try runWrk(workload, clients: clients, seconds: options.seconds, port: port, key: key, rows: options.rows, root: root,
                                                    label: Self.floorPath, path: "/bench/floor"))
                        }
                    }
                    results.append(Self.combined(on))
                    results.append(Self.combined(off))
                    if !floor.isEmpty { results.append(Self.combined(floor)) }
                }
            }
            if !options.exportsOnly {
                log("statement cache: 10,000+ distinct query texts")
                cache = try measureCache(port: port, key: key, pid: server.processIdentifier, root: root)
            }
        }
        for process in [server, bareServer] {
            process.terminate()
            process.waitUntilExit()
        }

        // The same engine settings as the server's instance (see DatabaseInstance), opened once.
        let megabytes = ProcessInfo.processInfo.physicalMemory / 1_048_576 * 60 / 100
        let database = try Database(path: data + "/duckling-default.db", configuration: DatabaseConfiguration(
            memoryLimit: "\(megabytes)MB", allowsExternalAccess: false, additionalSettings: ["allow_persistent_secrets": "false"]))
        log("DuckDB COPY … TO parquet of \(options.exportRows) rows, \(options.exportRuns) runs")
        exports.append(try copyInProcess(rows: options.exportRows, runs: options.exportRuns, root: root))
        for workload in options.exportsOnly ? [] : workloads {
            log("in-process \(workload.name), warming up")
            _ = try await runInProcess(workload, clients: 8, seconds: 2, database: database, rows: options.rows)
            for clients in options.concurrency {
                log("in-process \(workload.name), \(clients) clients")
                results.append(try await runInProcess(workload, clients: clients, seconds: options.seconds, database: database, rows: options.rows))
            }
        }
        try write(results, exports: exports, cache: cache, options: options)
    }

    // MARK: - Exports

    /// The median of `runs` downloads of the export in `format`, read to the end by curl; the first
    /// one's file is checked with DuckDB (every row there, the last id the last row).
    static func exportOverHTTP(format: String, rows: Int, runs: Int, port: Int, key: String, root: String) throws -> Export {
        let body = #"{"sql":"\#(exportSQL(rows: rows))","timeout_ms":600000}"#
        var measured: [Export] = []
        for run in 0..<runs {
            let file = root + "/export.\(format)"
            let output = try curl(["-fsS", "-o", run == 0 ? file : "/dev/null", "-w", "%{size_download} %{time_total}",
                                   "-H", "Authorization: Bearer \(key)", "-d", body, "http://127.0.0.1:\(port)/api/query?format=\(format)"])
            let numbers = output.split(separator: " ").compactMap { Double($0) }
            guard numbers.count == 2 else { throw BenchmarkError("curl printed \(output)") }
            if run == 0 {
                try checkExport(file, format: format, rows: rows)
                try? FileManager.default.removeItem(atPath: file)
            }
            measured.append(Export(format: format, path: "HTTP /api/query?format=\(format)", rows: rows, bytes: Int(numbers[0]), seconds: numbers[1]))
        }
        return measured.sorted { $0.seconds < $1.seconds }[runs / 2]
    }

    /// Reads an exported file back with DuckDB: Parquet directly, Arrow IPC through pyarrow's reader
    /// (DuckDB has no IPC reader of its own), and checks the row count and the last id.
    static func checkExport(_ file: String, format: String, rows: Int) throws {
        let script = format == "parquet"
            ? "import pyarrow.parquet as pq; t = pq.read_table('\(file)', columns=['id']); print(t.num_rows, t.column(0)[-1].as_py())"
            : "import pyarrow.ipc as ipc; t = ipc.open_stream(open('\(file)', 'rb')).read_all(); print(t.num_rows, t.column(0)[-1].as_py())"
        let answer = try shell("python3", ["-c", script]).trimmingCharacters(in: .whitespacesAndNewlines)
        guard answer == "\(rows) \(rows - 1)" else { throw BenchmarkError("\(format) export read back as '\(answer)'") }
    }

    /// DuckDB's own `COPY (query) TO 'file.parquet'` in-process, with the server's compression
    /// (zstd): the engine's speed for the same file, written to local disk.
    static func copyInProcess(rows: Int, runs: Int, root: String) throws -> Export {
        let megabytes = ProcessInfo.processInfo.physicalMemory / 1_048_576 * 60 / 100
        let database = try Database(path: nil, configuration: DatabaseConfiguration(memoryLimit: "\(megabytes)MB"))
        defer { database.close() }
        let connection = try database.connect()
        defer { connection.close() }
        var measured: [Export] = []
        let file = root + "/copy.parquet"
        for _ in 0..<runs {
            let started = ContinuousClock.now
            try connection.execute("COPY (\(exportSQL(rows: rows))) TO '\(file)' (FORMAT parquet, COMPRESSION zstd)")
            let elapsed = ContinuousClock.now - started
            let size = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            try FileManager.default.removeItem(atPath: file)
            measured.append(Export(format: "parquet", path: "in-process DuckDB COPY … TO", rows: rows, bytes: size,
                                   seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
        }
        return measured.sorted { $0.seconds < $1.seconds }[runs / 2]
    }

    // MARK: - Data

    static func createTable(path: String, rows: Int) throws {
        let connection = try Database(path: path).connect()
        try connection.execute("""
            CREATE TABLE items (id BIGINT PRIMARY KEY, category VARCHAR, amount DECIMAL(12,2), created_at TIMESTAMP, note VARCHAR);
            INSERT INTO items SELECT range, 'category_' || (range % 10), (range % 100000) / 100.0,
                TIMESTAMP '2024-01-01' + range * INTERVAL 1 SECOND, md5(range::VARCHAR) FROM range(\(rows));
            CHECKPOINT;
            """)
    }

    // MARK: - HTTP

    static let barePath = "HTTP, statistics and breaker off"
    static let floorPath = "HTTP floor (constant body, no query)"

    /// The server's memory before and after a run of query texts that are all different.
    struct CacheMemory: Codable {
        let texts: Int
        let rssBeforeMegabytes: Double
        let rssAfterMegabytes: Double
    }

    static func residentMegabytes(_ pid: Int32) -> Double {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
    }

    /// 8 clients for 10 s, every request a query text never sent before (`SELECT n AS v_n`): each
    /// connection keeps at most `query.statement_cache_size` of them, so memory must level off.
    static func measureCache(port: Int, key: String, pid: Int32, root: String) throws -> CacheMemory {
        let before = residentMegabytes(pid)
        let script = """
            wrk.method = "POST"
            wrk.headers["Authorization"] = "Bearer \(key)"
            wrk.headers["Content-Type"] = "application/json"
            local counter = 0
            local id = 0
            setup = function(thread) id = id + 1; thread:set("id", id) end
            request = function()
              counter = counter + 1
              local n = id * 10000000 + counter
              return wrk.format(nil, nil, nil, '{"sql":"SELECT ' .. n .. ' AS v_' .. n .. '"}')
            end
            done = function(summary, latency, requests)
              io.write(string.format("RESULT %d %d\\n", summary.requests, summary.errors.status))
            end
            """
        let path = root + "/distinct.lua"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        let output = try shell("wrk", ["-t", "2", "-c", "8", "-d", "10s", "-s", path, "http://127.0.0.1:\(port)/api/query"])
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("RESULT ") }) else {
            throw BenchmarkError("wrk printed no result: \(output)")
        }
        let numbers = line.split(separator: " ").dropFirst().compactMap { Int($0) }
        guard numbers.count == 2, numbers[1] == 0 else { throw BenchmarkError("distinct queries failed: \(line)") }
        return CacheMemory(texts: numbers[0], rssBeforeMegabytes: before, rssAfterMegabytes: residentMegabytes(pid))
    }

    static func startServer(_ binary: String, data: String, port: Int, key: String, config: String? = nil, floorBytes: Int? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--data-dir", data, "--port", String(port)] + (config.map { ["--config", $0] } ?? [])
        var environment = ProcessInfo.processInfo.environment
        environment["DUCKLING_API_KEY"] = key
        environment["DUCKLING_LOG_LEVEL"] = "warning"
        environment["AUTO_START_SYNC"] = "false"
        if let floorBytes { environment["DUCKLING_BENCH_FLOOR_BYTES"] = String(floorBytes) }
        process.environment = environment
        try process.run()
        return process
    }

    static func waitUntilHealthy(port: Int) async throws {
        for _ in 0..<200 {
            if (try? curl(["-fsS", "http://127.0.0.1:\(port)/health"]))?.contains("ok") == true { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchmarkError("the server did not become healthy")
    }

    /// One request of each workload, checked, so the load below measures right answers.
    static func checkAnswers(port: Int, key: String, rows: Int) throws {
        let point = try curl(["-fsS", "-H", "Authorization: Bearer \(key)", "-d", #"{"sql":"SELECT * FROM items WHERE id = $1","params":[42]}"#,
                              "http://127.0.0.1:\(port)/api/query"])
        guard point.contains(#""rows":[["42","category_2","0.42","2024-01-01 00:00:42",""#) else { throw BenchmarkError("wrong point lookup: \(point)") }
        let aggregate = try curl(["-fsS", "-H", "Authorization: Bearer \(key)", "-d",
                                  #"{"sql":"SELECT category, count(*) AS n FROM items GROUP BY category ORDER BY category"}"#,
                                  "http://127.0.0.1:\(port)/api/query"])
        guard aggregate.contains(#"["category_0","\#(rows / 10)"]"#) else { throw BenchmarkError("wrong aggregate: \(aggregate)") }
    }

    static func runWrk(_ workload: Workload, clients: Int, seconds: Int, port: Int, key: String, rows: Int, root: String,
                       label: String = "HTTP /api/query", path: String = "/api/query") throws -> Measurement {
        let escaped = workload.sql.replacingOccurrences(of: "\"", with: "\\\"")
        let body = workload.sql.contains("$1")
            ? #"'{"sql":"\#(escaped)","params":[' .. math.random(0, \#(rows - 1)) .. ']}'"#
            : #"'{"sql":"\#(escaped)"}'"#
        let script = """
            wrk.method = "POST"
            wrk.headers["Authorization"] = "Bearer \(key)"
            wrk.headers["Content-Type"] = "application/json"
            request = function()
              return wrk.format(nil, nil, nil, \(body))
            end
            done = function(summary, latency, requests)
              local e = summary.errors
              io.write(string.format("RESULT %d %d %d %d %d %d\\n", summary.requests, summary.duration,
                e.connect + e.read + e.write + e.timeout, e.status, latency:percentile(50), latency:percentile(99)))
            end
            """
        let scriptPath = root + "/wrk.lua"
        try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        let threads = min(clients, 2)
        let output = try shell("wrk", ["-t", String(threads), "-c", String(clients), "-d", "\(seconds)s", "--timeout", "10s",
                                       "-s", scriptPath, "http://127.0.0.1:\(port)\(path)"])
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("RESULT ") }) else {
            throw BenchmarkError("wrk printed no result: \(output)")
        }
        let numbers = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        let (requests, duration, errors, non2xx, p50, p99) = (numbers[0], numbers[1], numbers[2], numbers[3], numbers[4], numbers[5])
        return Measurement(workload: workload.name, path: label, clients: clients, requests: Int(requests),
                           errors: Int(errors + non2xx), requestsPerSecond: requests / (duration / 1e6),
                           p50Milliseconds: p50 / 1000, p99Milliseconds: p99 / 1000)
    }

    /// Rounds of one measurement as one: requests over the whole time, the median round's percentiles.
    static func combined(_ rounds: [Measurement]) -> Measurement {
        let requests = rounds.reduce(0) { $0 + $1.requests }
        let seconds = rounds.reduce(0.0) { $0 + Double($1.requests) / max($1.requestsPerSecond, 1e-9) }
        let median = rounds.sorted { $0.requestsPerSecond < $1.requestsPerSecond }[rounds.count / 2]
        return Measurement(workload: median.workload, path: median.path, clients: median.clients, requests: requests,
                           errors: rounds.reduce(0) { $0 + $1.errors }, requestsPerSecond: Double(requests) / seconds,
                           p50Milliseconds: median.p50Milliseconds, p99Milliseconds: median.p99Milliseconds)
    }

    // MARK: - In-process

    static func runInProcess(_ workload: Workload, clients: Int, seconds: Int, database: Database, rows: Int) async throws -> Measurement {
        let connections = try (0..<clients).map { try SerializedConnection(database: database, label: "bench.\($0)") }
        let deadline = ContinuousClock.now + .seconds(seconds)
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for connection in connections {
                group.addTask {
                    var latencies: [Double] = []
                    while ContinuousClock.now < deadline {
                        let id = Int64.random(in: 0..<Int64(rows))
                        let started = ContinuousClock.now
                        let count = try await connection.run { duckdb -> Int in
                            let statement = try duckdb.prepare(workload.sql)
                            if statement.parameterCount == 1 { try statement.bind([.bigint(id)]) }
                            let result = try statement.execute(streaming: true)
                            var count = 0
                            while let chunk = try result.nextChunk() { count += chunk.count }
                            return count
                        }
                        guard count > 0 else { throw BenchmarkError("no rows") }
                        let elapsed = ContinuousClock.now - started
                        latencies.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
                    }
                    return latencies
                }
            }
            var all: [Double] = []
            for try await part in group { all += part }
            return all.sorted()
        }
        func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        return Measurement(workload: workload.name, path: "in-process DuckDBKit", clients: clients, requests: latencies.count,
                           errors: 0, requestsPerSecond: Double(latencies.count) / Double(seconds),
                           p50Milliseconds: percentile(0.5), p99Milliseconds: percentile(0.99))
    }

    // MARK: - Output

    static func write(_ results: [Measurement], exports: [Export], cache: CacheMemory?, options: Options) throws {
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        let machine = [
            "cores: \(ProcessInfo.processInfo.activeProcessorCount)",
            "memory: \(ProcessInfo.processInfo.physicalMemory / 1_073_741_824) GiB",
            "cpu: \((try? shell("sh", ["-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?")",
            "duckdb: \(Database.libraryVersion)",
            "commit: \((try? shell("git", ["rev-parse", "--short", "HEAD"]))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?")",
        ]
        var lines = [
            "# Query API benchmark (\(stamp))", "",
            "`bench/query-api/run`: \(options.rows) rows, \(options.seconds) s per measurement (HTTP: \(options.rounds) rounds, turn about",
            "with a server without statistics and breaker; requests/s over all rounds, percentiles of the median round). The HTTP rows are the release",
            "`duckling serve` under wrk (keep-alive, on the same machine, so wrk shares the CPU); the in-process rows",
            "run the same SQL through DuckDBKit (prepare, bind, execute, read every chunk) with one connection per client,",
            "on one instance opened with the server's settings. Each workload is warmed up (2 s, discarded) on both paths.", "",
            machine.map { "- \($0)" }.joined(separator: "\n"), "",
            "| query | path | clients | requests/s | p50 ms | p99 ms | requests | errors |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for result in results.sorted(by: { ($0.workload, $0.clients, $0.path) < ($1.workload, $1.clients, $1.path) }) {
            lines.append(String(format: "| %@ | %@ | %d | %.0f | %.2f | %.2f | %d | %d |", result.workload, result.path, result.clients,
                                result.requestsPerSecond, result.p50Milliseconds, result.p99Milliseconds, result.requests, result.errors))
        }
        lines += ["", "Cost of the statistics and the circuit breaker on the query path (throughput with them on, against a server",
                  "with `query: { statistics: false, breaker_failures: 0 }` measured turn about in the same run):", "",
                  "| query | clients | on requests/s | off requests/s | overhead |", "|---|---:|---:|---:|---:|"]
        for on in results where on.path == "HTTP /api/query" {
            guard let off = results.first(where: { $0.path == barePath && $0.workload == on.workload && $0.clients == on.clients }) else { continue }
            lines.append(String(format: "| %@ | %d | %.0f | %.0f | %+.1f%% |", on.workload, on.clients, on.requestsPerSecond, off.requestsPerSecond,
                                (off.requestsPerSecond - on.requestsPerSecond) / off.requestsPerSecond * 100))
        }
        lines += ["", "Exports of \(options.exportRows) rows (`\(exportSQL(rows: options.exportRows))`), median of \(options.exportRuns) runs.",
                  "HTTP: the release server streams the result to curl on the same machine (`-o /dev/null`; the first run's file is",
                  "read back with pyarrow and checked). DuckDB: `COPY (same query) TO 'file.parquet' (FORMAT parquet, COMPRESSION zstd)`",
                  "in-process on an instance with the server's memory limit, after the servers stopped.", "",
                  "| format | path | MB | seconds | MB/s | rows/s | vs COPY |", "|---|---|---:|---:|---:|---:|---:|"]
        let reference = exports.first { $0.path.hasPrefix("in-process") }
        for export in exports {
            let ratio = reference.map { String(format: "%.2f×", $0.seconds / export.seconds) } ?? "-"
            lines.append(String(format: "| %@ | %@ | %.1f | %.2f | %.1f | %.0f | %@ |", export.format, export.path, Double(export.bytes) / 1_048_576,
                                export.seconds, export.megabytesPerSecond, export.rowsPerSecond, ratio))
        }
        // What issue 15 asks: HTTP against in-process DuckDBKit, SELECT 1 against the HTTP floor.
        lines += ["", "HTTP against the engine (requests/s of `/api/query` over in-process DuckDBKit, same workload and clients) and",
                  "SELECT 1 against the HTTP floor (a constant body of the same size from the same binary):", "",
                  "| query | clients | HTTP / in-process | HTTP / floor | p99 ms |", "|---|---:|---:|---:|---:|"]
        for http in results where http.path == "HTTP /api/query" {
            let engine = results.first { $0.path == "in-process DuckDBKit" && $0.workload == http.workload && $0.clients == http.clients }
            let floor = results.first { $0.path == floorPath && $0.workload == http.workload && $0.clients == http.clients }
            lines.append(String(format: "| %@ | %d | %@ | %@ | %.2f |", http.workload, http.clients,
                                engine.map { String(format: "%.2f×", http.requestsPerSecond / $0.requestsPerSecond) } ?? "-",
                                floor.map { String(format: "%.2f×", http.requestsPerSecond / $0.requestsPerSecond) } ?? "-",
                                http.p99Milliseconds))
        }
        if let cache {
            lines += ["", String(format: "Statement cache: %d distinct query texts in 10 s (8 clients); the server's RSS went from %.0f MB to %.0f MB.",
                                 cache.texts, cache.rssBeforeMegabytes, cache.rssAfterMegabytes)]
        }
        let markdown = lines.joined(separator: "\n") + "\n"
        try FileManager.default.createDirectory(atPath: options.output, withIntermediateDirectories: true)
        try markdown.write(toFile: "\(options.output)/query-api-\(stamp).md", atomically: true, encoding: .utf8)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(Results(queries: results, exports: exports, cache: cache)).write(to: URL(fileURLWithPath: "\(options.output)/query-api-\(stamp).json"))
        print(markdown)
    }

    // MARK: - Helpers

    static func log(_ message: String) {
        FileHandle.standardError.write(Data("query-api: \(message)\n".utf8))
    }

    static func curl(_ arguments: [String]) throws -> String {
        try shell("curl", arguments)
    }

    static func shell(_ command: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [command] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchmarkError("\(command) failed with \(process.terminationStatus)") }
        return String(decoding: data, as: UTF8.self)
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
