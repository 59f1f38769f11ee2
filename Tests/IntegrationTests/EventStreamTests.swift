import DucklingTestSupport
import Foundation
import Testing

/// The event streams with a real SSE client (`httpx-sse`, from scripts/tests/sse-clients.py)
/// against a `duckling serve` process: fan-out, a client that stops reading, resuming with
/// `Last-Event-ID`, heartbeats, filters, and zombies.
@Suite(.serialized) struct EventStreamTests {
    static let readKey = "events-read-only-key"

    /// Runs one scenario of the script against a fresh server; answers what the script printed.
    func scenario(_ name: String, events yaml: String = "", _ arguments: [String] = []) async throws -> [String: Any] {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/duckling.yaml"
        try """
            server:
              data_dir: \(directory)/data
              read_only_keys: [\(Self.readKey)]
            lake:
              enabled: false
            events:
            \(yaml.contains("metrics_interval") ? "" : "  metrics_interval: 0\n")\(yaml)
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let server = try ServerProcess(config: config, directory: directory, environment: ProcessEnvironment.clean())
        defer { _ = server.terminate() }
        try await server.waitUntilHealthy()
        let script = try repositoryRoot() + "/scripts/tests/sse-clients.py"
        let result = try run("/usr/bin/env", ["python3", script, name, "--url", "http://127.0.0.1:\(server.port)", "--key", server.key,
                                              "--read-key", Self.readKey, "--pid", String(server.process.processIdentifier)] + arguments)
        #expect(result.status == 0, "\(name): \(result.stderr)")
        let line = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        FileHandle.standardError.write(Data("sse \(name): \(line)\n".utf8))
        return (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]) ?? [:]
    }

    @Test func aHundredSubscribersReceiveTenThousandEventsInOrder() async throws {
        let report = try await scenario("fanout", ["--clients", "100", "--events", "10000"])
        let before = report["rss_before"] as? Int ?? 0
        let peak = report["rss_peak"] as? Int ?? .max
        // 100 clients × 1,000 queued events at most, and the frames are shared: memory stays flat.
        #expect(peak - before < 64 << 20, "RSS grew from \(before >> 20) MiB to \(peak >> 20) MiB")
    }

    @Test func aClientThatStopsReadingIsDisconnectedAndTheOthersLoseNothing() async throws {
        let report = try await scenario("stalled", events: "  client_queue_size: 200", ["--queue", "200"])
        let evictions = report["evictions"] as? [String: Int] ?? [:]
        #expect(evictions["queue_full"] == 1, "\(report)")
        let before = report["rss_before"] as? Int ?? 0
        let after = report["rss_after"] as? Int ?? .max
        #expect(after - before < 32 << 20, "RSS grew from \(before >> 20) MiB to \(after >> 20) MiB")
    }

    @Test func aClientThatResumesGetsExactlyWhatItMissed() async throws {
        let report = try await scenario("resume")
        #expect(report["resumed"] as? Int == 9, "\(report)")
    }

    @Test func anIdleStreamCarriesHeartbeats() async throws {
        let report = try await scenario("heartbeat", events: "  heartbeat: 1s\n  retry_ms: 2500")
        #expect(report["retry_ms"] as? Int == 2500, "\(report)")
        let times = report["heartbeats_at"] as? [Double] ?? []
        #expect(times.count == 2 && times[1] < 5, "\(report)")
    }

    @Test func theMetricsStreamCarriesSystemMetricsAndQueueStatusEveryInterval() async throws {
        let report = try await scenario("periodic", events: "  metrics_interval: 1\n")
        #expect(report["queries_total"] as? Int ?? 0 >= 1, "\(report)")
        #expect(report["queue_clients"] as? Int ?? 0 >= 1, "\(report)")
        // Within a few intervals of subscribing, not the default 10 s.
        #expect((report["system_metric_after"] as? Double ?? 99) < 5, "\(report)")
    }

    @Test func filtersDeliverOnlyTheAskedForKinds() async throws {
        let report = try await scenario("filter")
        #expect(report["all"] as? Int == 4, "\(report)")
    }

    @Test func aClientThatNeverAnswersPingsIsAZombieAndIsCleanedUp() async throws {
        let report = try await scenario("zombies", events: "  ping_interval: 1s")
        #expect(report["total_detected"] as? Int == 1, "\(report)")
        #expect((report["pings_answered"] as? Int ?? 0) >= 1, "\(report)")
    }

    @Test func aServerWithOpenStreamsStopsPromptly() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try ServerProcess.writeConfiguration(in: directory)
        let server = try ServerProcess(config: config, directory: directory, environment: ProcessEnvironment.clean())
        try await server.waitUntilHealthy()
        // Two clients hold streams open (one reads, one never does) while the server is stopped.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = ["python3", "-c", """
            import socket, sys, time
            socks = []
            for reads in (True, False):
                s = socket.create_connection(("127.0.0.1", \(server.port)))
                s.sendall(b"GET /events/stream HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer \(server.key)\\r\\n\\r\\n")
                socks.append((s, reads))
            assert b"200" in socks[0][0].recv(1024).split(b"\\r\\n")[0]
            print("open", flush=True)
            time.sleep(60)
            """]
        let output = Pipe()
        holder.standardOutput = output
        try holder.run()
        defer { holder.terminate() }
        _ = output.fileHandleForReading.readData(ofLength: 5)
        #expect(try await eventually(within: .seconds(10)) {
            ((try? await server.request(.GET, "/events/stats"))?.1["clients"] as? Int) == 2
        })
        let started = ContinuousClock.now
        #expect(server.terminate() == 0)
        #expect(ContinuousClock.now - started < .seconds(10), "stopping took \(ContinuousClock.now - started)")
    }
}
