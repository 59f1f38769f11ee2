import DucklingTestSupport
import Foundation
import Testing

/// HTTPS from PEM files (`server.tls`), checked with curl and a certificate made by openssl.
@Suite(.serialized) struct TLSTests {
    /// A self-signed certificate for localhost and 127.0.0.1, and its key, in `directory`.
    static func makeCertificate(in directory: String) throws {
        let result = try run("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        try #require(result.status == 0, "openssl: \(result.stderr)")
    }

    /// curl's exit status, the body and `%{http_code} %{http_version}`.
    static func curl(_ arguments: [String]) throws -> (status: Int32, body: String, written: String) {
        let result = try run("/usr/bin/curl", ["-sS", "-m", "20", "-w", "\n%{http_code} %{http_version}"] + arguments)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (result.status, lines.dropLast().joined(separator: "\n"), lines.last.map(String.init) ?? "")
    }

    @Test func httpsWithHTTP2AndAPlainRequestToTheTLSPortFailsCleanly() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.makeCertificate(in: directory)
        let config = try ServerProcess.writeConfiguration(in: directory, extra: "")
        // The certificate and key are named relative to the configuration file.
        try (String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(
            of: "server:\n", with: "server:\n  tls:\n    certificate: cert.pem\n    private_key: key.pem\n"))
            .write(toFile: config, atomically: true, encoding: .utf8)
        let server = try ServerProcess(config: config, directory: directory, environment: ProcessEnvironment.clean())
        defer { _ = server.terminate() }
        let base = "https://localhost:\(server.port)"
        let trust = ["--cacert", directory + "/cert.pem"]
        var healthy = false
        for _ in 0..<100 where !healthy {
            healthy = (try? Self.curl(trust + [base + "/health"]))?.written == "200 2"
            if !healthy { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(healthy, "no HTTPS answer: \(server.errorTail)")

        // HTTP/2 where the client offers it, HTTP/1.1 where it does not.
        #expect(try Self.curl(trust + ["--http2", base + "/health"]).written == "200 2")
        #expect(try Self.curl(trust + ["--http1.1", base + "/health"]).written == "200 1.1")
        // An authenticated query over HTTP/2.
        let auth = ["-H", "Authorization: Bearer \(server.key)", "-H", "Content-Type: application/json"]
        let query = try Self.curl(trust + auth + ["-d", #"{"sql": "SELECT 42 AS answer"}"#, base + "/api/query"])
        #expect(query.written == "200 2" && query.body.contains(#""rows":[[42]]"#), "\(query)")
        // Without the certificate, curl refuses the server; without TLS, the server refuses curl.
        #expect(try Self.curl([base + "/health"]).status == 60)
        let plain = try Self.curl(["http://127.0.0.1:\(server.port)/health"])
        #expect(plain.status != 0 && plain.written.hasPrefix("000"), "\(plain)")

        // A client that leaves an HTTP/2 stream stops its query (the stream's own close watcher).
        let slow = #"{"sql": "SELECT md5(range::VARCHAR) FROM range(1000000000)", "timeout_ms": 600000}"#
        let cut = try run("/usr/bin/curl", ["-sS", "-m", "2", "-o", "/dev/null", "--http2"] + trust + auth + ["-d", slow, base + "/api/query?format=parquet"])
        #expect(cut.status == 28, "curl should have given up at its time limit: \(cut.stderr)")
        var cancelled = false
        for _ in 0..<100 where !cancelled {
            let statistics = try Self.curl(trust + auth + [base + "/api/statistics"])
            let object = try JSONSerialization.jsonObject(with: Data(statistics.body.utf8)) as? [String: Any]
            let queries = object?["queries"] as? [String: Any]
            cancelled = queries?["cancelled"] as? Int == 1 && (object?["pool"] as? [String: Any])?["in_use"] as? Int == 0
            if !cancelled { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(cancelled, "the abandoned query was not cancelled")
        // The server still serves after all of it.
        #expect(try Self.curl(trust + [base + "/health"]).written == "200 2")
        #expect(server.isAlive)
    }

    @Test func unreadablePEMFilesStopServeBeforeAnythingOpens() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "not a certificate".write(toFile: directory + "/cert.pem", atomically: true, encoding: .utf8)
        let config = directory + "/duckling.yaml"
        try "server:\n  data_dir: \(directory)/data\n  tls:\n    certificate: cert.pem\n    private_key: missing.pem\nlake:\n  enabled: false\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let result = try run(try ducklingBinary(), ["serve", "--config", config, "--port", String(try ServerProcess.freePort())],
                             environment: ProcessEnvironment.clean(["DUCKLING_API_KEY": "tls-test-key"]))
        #expect(result.status == 1)
        #expect(result.stderr.contains("server.tls.certificate") && result.stderr.contains(directory + "/cert.pem"), "\(result.stderr)")
        // No database was opened: nothing was created under the data directory.
        #expect(!FileManager.default.fileExists(atPath: directory + "/data/duckling-default.db"))
        let halfConfigured = directory + "/half.yaml"
        try "server:\n  tls:\n    certificate: cert.pem\n".write(toFile: halfConfigured, atomically: true, encoding: .utf8)
        let half = try run(try ducklingBinary(), ["config", "check", "--config", halfConfigured], environment: ProcessEnvironment.clean())
        #expect(half.status != 0 && (half.stderr + half.stdout).contains("needs both certificate and private_key"), "\(half.stderr)")
    }

    @Test func plainHTTPOnANonLoopbackAddressIsWarnedAbout() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try ServerProcess.writeConfiguration(in: directory)
        // 192.0.2.1 (TEST-NET-1) is on no interface here: the warning comes first, then the bind fails,
        // so the test never listens beyond loopback.
        let result = try run(try ducklingBinary(), ["serve", "--config", config, "--host", "192.0.2.1", "--port", String(try ServerProcess.freePort())],
                             environment: ProcessEnvironment.clean(["DUCKLING_API_KEY": "tls-test-key"]))
        #expect(result.stderr.contains("API keys and results travel in clear text"), "\(result.stderr)")
        #expect(!result.stderr.contains("tls-test-key"))
    }
}
