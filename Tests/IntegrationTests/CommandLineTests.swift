import DucklingTestSupport
import AsyncHTTPClient
import Foundation
import NIOCore
import Testing

/// The `duckling` executable, run as a user would run it.
@Suite(.serialized) struct CommandLineTests {
    static let badConfiguration = """
        server:
          port: eighty
          hots: 0.0.0.0
        databases:
          lms:
            sources:
              shop: { url: "postgresql://reader:${DUCKLING_IT_MISSING}@db/shop" }
        """

    private func environment(_ extra: [String: String] = [:]) -> [String: String] {
        ProcessEnvironment.clean(extra)
    }

    @Test func versionNamesBothVersions() throws {
        let result = try run(try ducklingBinary(), ["version"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("duckling 0.1.0"))
        #expect(result.stdout.contains("duckdb v1.5.5"))
    }

    @Test func invalidConfigurationIsReportedInFullByCheckAndServe() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.badConfiguration.write(toFile: directory + "/duckling.yaml", atomically: true, encoding: .utf8)
        for arguments in [["config", "check", "--config", "duckling.yaml"], ["serve", "--config", "duckling.yaml", "--port", "0"]] {
            let result = try run(try ducklingBinary(), arguments, environment: environment(), directory: directory)
            #expect(result.status == 1, "\(arguments)")
            #expect(result.stderr.contains("duckling.yaml: server.port: expected a whole number, got 'eighty'"))
            #expect(result.stderr.contains("duckling.yaml: server.hots: unknown key (did you mean 'host'?)"))
            #expect(result.stderr.contains("duckling.yaml: databases.lms.sources.shop.url: environment variable DUCKLING_IT_MISSING is not set"))
            #expect(result.stderr.contains("3 problems"))
        }
        // A bad environment value counts too.
        let result = try run(try ducklingBinary(), ["config", "check"], environment: environment(["SYNC_INTERVAL_MINUTES": "often"]), directory: directory)
        #expect(result.status == 1)
        #expect(result.stderr.contains("environment: SYNC_INTERVAL_MINUTES: expected a whole number, got 'often'"))
    }

    @Test func checkPrintsAValidConfigurationWithSecretsMasked() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try """
            databases:
              lms:
                sources: { shop: "postgresql://reader:${SHOP_PASSWORD}@db/shop" }
            """.write(toFile: directory + "/duckling.yaml", atomically: true, encoding: .utf8)
        let result = try run(try ducklingBinary(), ["config", "check", "--config", "duckling.yaml"],
                             environment: environment(["SHOP_PASSWORD": "very-secret-pw", "DUCKLING_API_KEY": "admin-key-value"]), directory: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("postgresql://reader:••••••@db/shop"))
        #expect(!result.stdout.contains("very-secret-pw"))
        #expect(!result.stdout.contains("admin-key-value"))
    }

    @Test func serveGeneratesAKeyAnswersAndStopsOnSIGTERM() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = Int.random(in: 40000...49000)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try ducklingBinary())
        process.arguments = ["serve", "--port", String(port), "--data-dir", directory + "/data"]
        process.environment = environment()
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let log = Pipe()
        process.standardError = log
        process.standardOutput = log
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { _ = client.shutdown() }
        var healthy = false
        for _ in 0..<100 where !healthy {
            try await Task.sleep(for: .milliseconds(100))
            let response = try? await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/health"), timeout: .seconds(2))
            healthy = response?.status == .ok
        }
        #expect(healthy)

        let keyFile = directory + "/data/api-key"
        let key = try String(contentsOfFile: keyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let permissions = try FileManager.default.attributesOfItem(atPath: keyFile)[.posixPermissions] as? NSNumber
        #expect(permissions?.intValue == 0o600)

        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/query")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.body = .bytes(ByteBuffer(string: #"{"sql":"SELECT 42 AS answer"}"#))
        let response = try await client.execute(request, timeout: .seconds(10))
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        #expect(response.status == .ok)
        #expect(body.contains(#""rows":[[42]]"#))

        process.terminate()  // SIGTERM
        let stopped = ContinuousClock.now
        while process.isRunning && ContinuousClock.now - stopped < .seconds(10) {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(!process.isRunning)
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        let output = String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(output.contains(keyFile))
        #expect(!output.contains(key), "the key itself was logged")

        // With the server gone, the CLI can query the file directly.
        let json = try run(try ducklingBinary(), ["query", "SELECT 42 AS answer", "--data-dir", directory + "/data"], environment: environment())
        #expect(json.status == 0, "\(json.stderr)")
        #expect(json.stdout.contains(#""rows":[[42]]"#))
        let csv = try run(try ducklingBinary(), ["query", "SELECT 42 AS answer", "--format", "csv", "--data-dir", directory + "/data"], environment: environment())
        #expect(csv.stdout == "answer\n42\n")
        let refused = try run(try ducklingBinary(), ["query", "CREATE TABLE t (i INT)", "--data-dir", directory + "/data"], environment: environment())
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("read_only"))
    }
}
