import DuckDBKit
import DucklingTestSupport
import Foundation
import ObjectStorage
import Testing

/// `duckling backup` as a user runs it, killed with SIGKILL mid-backup: nothing partial is ever
/// listed, and the next backup succeeds.
@Suite(.serialized) struct BackupProcessTests {
    /// A directory with a database of `rows` rows (about 40 bytes each) and a duckling.yaml.
    private func prepare(rows: Int, s3: String = "") throws -> (directory: String, config: String) {
        let directory = try temporaryDirectory()
        do {
            let database = try Database(path: directory + "/duckling-default.db")
            try database.connect().execute("CREATE TABLE facts AS SELECT range AS id, md5(range::VARCHAR) AS digest FROM range(\(rows)); CHECKPOINT")
        }
        let config = directory + "/duckling.yaml"
        try """
            server: { data_dir: \(directory) }
            databases:
              default:
                path: \(directory)/duckling-default.db
                backup:
                  local_dir: \(directory)/backups
            \(s3)
            """.write(toFile: config, atomically: true, encoding: .utf8)
        return (directory, config)
    }

    private func environment() -> [String: String] {
        ProcessEnvironment.clean(["DUCKLING_BACKUP_KEY": Data(repeating: 42, count: 32).base64EncodedString()])
    }

    private func duckling(_ arguments: [String]) throws -> ProcessResult {
        try run(try ducklingBinary(), arguments, environment: environment())
    }

    /// Starts `duckling backup create`, waits until `started` says it is mid-way, and SIGKILLs it.
    private func killMidway(config: String, started: @escaping () -> Bool) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try ducklingBinary())
        process.arguments = ["backup", "create", "--config", config]
        process.environment = environment()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + .seconds(60)
        while !started() {
            guard process.isRunning, ContinuousClock.now < deadline else {
                process.terminate()
                throw TestFailure("the backup finished or stalled before it could be killed mid-way (status \(process.terminationStatus))")
            }
            try await Task.sleep(for: .milliseconds(1))
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
    }

    @Test func sigkillDuringALocalBackupLeavesNothingListedAndTheNextBackupSucceeds() async throws {
        let (directory, config) = try prepare(rows: 15_000_000)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let backups = directory + "/backups"
        try await killMidway(config: config) {
            // The copy is under way once a hidden temporary directory holds part of the file.
            let names = (try? FileManager.default.contentsOfDirectory(atPath: backups)) ?? []
            return names.contains { name in
                name.hasPrefix(".backup-default-") &&
                    ((try? FileManager.default.contentsOfDirectory(atPath: backups + "/" + name))?.isEmpty == false)
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: backups).contains { $0.hasPrefix(".backup-default-") },
                "the killed backup left its temporary directory")
        let listed = try duckling(["backup", "list", "--config", config])
        #expect(listed.status == 0 && listed.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "no backups", "\(listed.stdout)\(listed.stderr)")

        let created = try duckling(["backup", "create", "--config", config])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.contains("verified"))
        let names = try FileManager.default.contentsOfDirectory(atPath: backups)
        #expect(names.count == 1 && names.allSatisfy { $0.hasPrefix("backup-default-") }, "the leftover was cleaned up: \(names)")
        let verified = try duckling(["backup", "verify", "--config", config])
        #expect(verified.status == 0 && verified.stdout.contains("\tok"), "\(verified.stdout)\(verified.stderr)")
    }

    @Test func sigkillDuringAnS3UploadLeavesNothingListedAndTheNextBackupSucceeds() async throws {
        let bucket = try await S3Test.makeBucket()
        let proxy = try FaultProxy(target: try S3Test.endpoint, arguments: [])
        defer { proxy.stop() }
        let s3 = """
                  s3:
                    bucket_url: s3://\(bucket)/nightly
                    endpoint: \(proxy.endpoint)
                    path_style: true
                    access_key: test-access
                    secret_key: test-secret
            """
        let (directory, config) = try prepare(rows: 4_000_000, s3: s3)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            try await killMidway(config: config) {
                proxy.log.contains { $0.hasPrefix("PUT") && $0.contains("partNumber=1&") }
            }
        } catch {
            throw TestFailure("\(error); proxy log: \(proxy.log); database \((try? FileManager.default.attributesOfItem(atPath: directory + "/duckling-default.db")[.size]) ?? 0) bytes")
        }
        #expect(try await S3Test.openUploads(bucket: bucket) == 1, "the killed upload is still open")
        let listed = try duckling(["backup", "list", "--config", config])
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(!listed.stdout.contains("s3\t"), "no S3 backup is listed: \(listed.stdout)")

        let created = try duckling(["backup", "create", "--config", config])
        #expect(created.status == 0, "\(created.stdout)\(created.stderr)")
        #expect(created.stdout.contains("uploaded to S3 as nightly/backup-default-"), "\(created.stdout)")
        #expect(try await S3Test.openUploads(bucket: bucket) == 0, "the stale upload was aborted")
        let after = try duckling(["backup", "list", "--config", config])
        #expect(after.stdout.components(separatedBy: "s3\t").count - 1 == 1, "\(after.stdout)")
        let key = try #require(after.stdout.split(separator: "\n").first { $0.hasPrefix("s3\t") }?.split(separator: "\t")[1])
        let verified = try duckling(["backup", "verify", "--from-s3", String(key), "--config", config])
        #expect(verified.status == 0 && verified.stdout.contains("\tok"), "\(verified.stdout)\(verified.stderr)")
    }
}
