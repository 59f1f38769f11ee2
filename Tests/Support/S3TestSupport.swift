import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
public import ObjectStorage

/// The test moto server and helpers around it: buckets, a store to look inside them, the fault proxy.
public enum S3Test {
    public static var endpoint: String { get throws { try TestEnvironment.require("DUCKLING_TEST_S3_ENDPOINT") } }

    /// Creates a bucket with a unique name on the test moto server; returns its name.
    public static func makeBucket(endpoint: String? = nil) async throws -> String {
        let name = "duckling-\(UUID().uuidString.prefix(8).lowercased())"
        var request = HTTPClientRequest(url: "\(try endpoint ?? self.endpoint)/\(name)")
        request.method = .PUT
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        guard response.status.code == 200 else { throw TestFailure("could not create bucket \(name): \(response.status)") }
        return name
    }

    /// A store on `bucket` for looking at what a test left (moto does not check signatures by default).
    public static func store(bucket: String, endpoint: String? = nil) throws -> S3Store {
        guard let url = URL(string: try endpoint ?? self.endpoint) else { throw TestFailure("bad endpoint") }
        return S3Store(endpoint: url, bucket: bucket, region: "us-east-1", credentials: S3Credentials(accessKey: "test", secretKey: "test"), pathStyle: true,
                       client: HTTPClient.shared, options: TestServer.fastStoreOptions, logger: Logger(label: "duckling.test.s3"))
    }

    /// Multipart uploads still open under `prefix` (ListMultipartUploads).
    public static func openUploads(bucket: String, prefix: String = "") async throws -> Int {
        let endpoint = try self.endpoint
        var request = HTTPClientRequest(url: "\(endpoint)/\(bucket)?uploads" + (prefix.isEmpty ? "" : "&prefix=\(prefix)"))
        request.method = .GET
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        return body.components(separatedBy: "<UploadId>").count - 1
    }

    /// Starts a multipart upload of `key` and leaves it open, as a killed upload does.
    public static func startUpload(bucket: String, key: String) async throws {
        var request = HTTPClientRequest(url: "\(try endpoint)/\(bucket)/\(key)?uploads")
        request.method = .POST
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        guard response.status.code == 200 else { throw TestFailure("could not start an upload of \(key): \(response.status)") }
    }

    /// A moto server that checks signatures, with an IAM user allowed everything and a bucket,
    /// (re)started by `scripts/test-services moto-auth`.
    public struct AuthServer: Sendable {
        public let endpoint: String
        public let accessKey: String
        public let secretKey: String
        public let bucket: String
    }

    public static func startAuthServer() throws -> AuthServer {
        let script = try repositoryRoot() + "/scripts/test-services"
        let result = try run(script, ["moto-auth"])
        guard result.status == 0 else { throw TestFailure("moto-auth failed: \(result.stderr)") }
        var values: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        guard let endpoint = values["endpoint"], let access = values["access_key"], let secret = values["secret_key"], let bucket = values["bucket"] else {
            throw TestFailure("moto-auth printed no details: \(result.stdout)")
        }
        return AuthServer(endpoint: endpoint, accessKey: access, secretKey: secret, bucket: bucket)
    }
}

/// `scripts/tests/s3-fault-proxy.py` in front of an S3 server; stopped by ``stop()``.
public final class FaultProxy: @unchecked Sendable {
    public let endpoint: String
    public let logFile: String
    private let process: Process

    public init(target: String, arguments: [String]) throws {
        guard let url = URL(string: target), let host = url.host, let port = url.port else { throw TestFailure("bad target \(target)") }
        logFile = FileManager.default.temporaryDirectory.appendingPathComponent("fault-proxy-\(UUID().uuidString).log").path
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", try repositoryRoot() + "/scripts/tests/s3-fault-proxy.py", "--target", "\(host):\(port)", "--log", logFile] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        guard let line = try output.fileHandleForReading.readLine(), let listening = Int(line) else {
            process.terminate()
            throw TestFailure("the fault proxy did not start")
        }
        endpoint = "http://127.0.0.1:\(listening)"
    }

    /// The proxy's log: one "METHOD PATH -> STATUS" line per request.
    public var log: [String] {
        (try? String(contentsOfFile: logFile, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
    }

    public func stop() {
        // SIGKILL: the child inherits the test runner's blocked signals, SIGTERM among them.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: logFile)
    }
}

extension FileHandle {
    /// Reads up to a newline (for a child's first line of output).
    func readLine() throws -> String? {
        var bytes: [UInt8] = []
        while let chunk = try read(upToCount: 1), let byte = chunk.first {
            if byte == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
        return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
    }
}
