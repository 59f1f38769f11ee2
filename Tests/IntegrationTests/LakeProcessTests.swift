import DucklingTestSupport
import Foundation
import Testing

/// More than one Duckling on one lake (DESIGN.md §13): two `duckling serve` processes with the
/// same PostgreSQL catalog and S3 data path write one table at once, with snapshot isolation.
@Suite(.serialized) struct LakeProcessTests {
    /// Two healthy `duckling serve` processes, each with its own data directory, on one lake with
    /// a fresh PostgreSQL catalog and S3 data path.
    static func twoServersOnOneLake(in directory: String) async throws -> [ServerProcess] {
        let lake = try await LakeVariant.postgresCatalog.yaml()
        let servers = try ["a", "b"].map { name in
            let config = directory + "/\(name).yaml"
            try "server:\n  data_dir: \(directory)/\(name)\n\(lake)\n".write(toFile: config, atomically: true, encoding: .utf8)
            return try ServerProcess(config: config, directory: directory, environment: ProcessEnvironment.clean())
        }
        do {
            for server in servers { try await server.waitUntilHealthy() }
        } catch {
            for server in servers { _ = server.terminate() }
            throw error
        }
        return servers
    }

    @Test func twoProcessesAppendToOneTableAndEveryRowArrivesOnceInWholeBatches() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let servers = try await Self.twoServersOnOneLake(in: directory)
        defer { for server in servers { _ = server.terminate() } }
        let reader = servers[1]

        let created = try await servers[0].send(.POST, "/tables", json: ["name": "shared", "columns": [
            ["name": "writer", "type": "VARCHAR"], ["name": "batch", "type": "INTEGER"], ["name": "n", "type": "INTEGER"],
        ]])
        #expect(created.0 == 201, "\(created.1)")
        let batchRows = 25, batches = 100

        // A reader on the second process sees only whole batches while both write.
        let reading = Task { () -> (checks: Int, failures: Int, torn: [String]) in
            var checks = 0
            var failures = 0
            var torn: [String] = []
            while !Task.isCancelled {
                // The last request may be cut off by the cancellation.
                let reply = try? await reader.send(.POST, "/api/query?db=lake", json: [
                    "sql": "SELECT writer, batch, count(*)::INTEGER FROM shared GROUP BY ALL HAVING count(*) <> \(batchRows)",
                ])
                if let reply, reply.0 == 200 {
                    checks += 1
                    torn += (reply.1["rows"] as? [[Any]] ?? []).map { "\($0)" }
                } else if !Task.isCancelled {
                    failures += 1
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
            return (checks, failures, torn)
        }
        let conflicts = try await withThrowingTaskGroup(of: Int.self) { group in
            for (index, server) in servers.enumerated() {
                group.addTask {
                    var conflicts = 0
                    for batch in 0..<batches {
                        let rows = (0..<batchRows).map { ["writer": "w\(index)", "batch": batch, "n": $0] as [String: Any] }
                        while true {
                            let reply = try await server.send(.PUT, "/tables/shared", json: rows)
                            if reply.0 == 200 { break }
                            let error = reply.1["error"] as? [String: Any]
                            guard reply.0 == 409, error?["code"] as? String == "lake_conflict" else {
                                throw TestFailure("append failed: \(reply.0) \(reply.1)")
                            }
                            #expect(error?["snapshot_id"] is Int, "a conflict names the snapshot it lost to: \(reply.1)")
                            conflicts += 1
                        }
                    }
                    return conflicts
                }
            }
            return try await group.reduce(0, +)
        }
        reading.cancel()
        let seen = try await reading.value
        #expect(seen.checks >= 20 && seen.failures == 0, "\(seen.checks) reads, \(seen.failures) failed")
        #expect(seen.torn.isEmpty, "a reader saw part of a batch: \(seen.torn.prefix(5))")

        // Every row once, from either process.
        for server in servers {
            let reply = try await server.send(.POST, "/api/query?db=lake", json: [
                "sql": "SELECT count(*)::INTEGER, count(DISTINCT (writer, batch, n))::INTEGER, count(DISTINCT (writer, batch))::INTEGER FROM shared",
            ])
            let counts = (reply.1["rows"] as? [[Any]])?.first?.compactMap { $0 as? Int }
            #expect(counts == [2 * batches * batchRows, 2 * batches * batchRows, 2 * batches], "\(reply.1)")
        }
        let snapshots = try await servers[0].request(.GET, "/tables/shared/snapshots")
        let appends = (snapshots.1["snapshots"] as? [[String: Any]] ?? []).filter { ($0["commit_message"] as? String)?.hasPrefix("append") == true }
        #expect(appends.count == 2 * batches, "one snapshot per append (\(conflicts) conflicts retried)")
    }
}

extension LakeProcessTests {
    @Test func twoProcessesCreatingOneTableAtOnceLeaveOneTableAndTheLoserGetsAConflict() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let servers = try await Self.twoServersOnOneLake(in: directory)
        defer { for server in servers { _ = server.terminate() } }
        for round in 0..<8 {
            let replies = try await withThrowingTaskGroup(of: (status: Int, code: String?, snapshot: Bool, text: String).self) { group in
                for server in servers {
                    group.addTask {
                        let (status, body) = try await server.send(.POST, "/tables", json: ["name": "race_\(round)", "columns": [["name": "id", "type": "INTEGER"]]])
                        let error = body["error"] as? [String: Any]
                        return (status, error?["code"] as? String, error?["snapshot_id"] is Int, "\(body)")
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(replies.filter { $0.status == 201 }.count == 1, "round \(round): \(replies)")
            for reply in replies where reply.status != 201 {
                #expect(reply.status == 409 && ["table_exists", "lake_conflict"].contains(reply.code ?? ""), "\(reply.text)")
                if reply.code == "lake_conflict" { #expect(reply.snapshot, "a conflict names the snapshot it lost to: \(reply.text)") }
            }
        }
        let listed = try await servers[1].request(.GET, "/tables")
        #expect((listed.1["tables"] as? [[String: Any]])?.count == 8, "\(listed.1)")
    }
}

extension LakeProcessTests {
    /// The server's resident set size, from `/proc/PID/status`.
    static func residentBytes(of pid: Int32) -> Int64 {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Int64(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kilobytes * 1024
    }

    @Test(arguments: LakeVariant.allCases)
    func a300MegabyteCSVAppendStreamsWithFlatMemory(variant: LakeVariant) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let csv = directory + "/big.csv"
        try LakeFixture.writeCSV(to: csv, rows: 3_400_000,
                                 select: "i AS id, 'customer number ' || i || ' with a longer description text' AS label, (i % 1000) / 7.0 AS amount, DATE '2020-01-01' + (i % 3000)::INTEGER AS day")
        let size = try FileManager.default.attributesOfItem(atPath: csv)[.size] as? Int ?? 0
        #expect(size > 300_000_000, "\(size)")

        let config = directory + "/duckling.yaml"
        try "server:\n  data_dir: \(directory)/data\n\(try await variant.yaml())\n".write(toFile: config, atomically: true, encoding: .utf8)
        let server = try ServerProcess(config: config, directory: directory, environment: ProcessEnvironment.clean(["DUCKDB_MEMORY_LIMIT": "1GB"]))
        defer { _ = server.terminate() }
        try await server.waitUntilHealthy()
        #expect(try await server.send(.POST, "/tables", json: ["name": "big", "columns": [
            ["name": "id", "type": "BIGINT"], ["name": "label", "type": "VARCHAR"], ["name": "amount", "type": "DOUBLE"], ["name": "day", "type": "DATE"],
        ]]).0 == 201)
        // Warm up: the lake's extensions are loaded and one small append is made first.
        #expect(try await server.send(.PUT, "/tables/big", json: [["id": -1, "label": "warm", "amount": 0, "day": "2020-01-01"]]).0 == 200)
        let pid = server.process.processIdentifier
        let baseline = Self.residentBytes(of: pid)

        let sampling = Task { () -> Int64 in
            var peak: Int64 = 0
            while !Task.isCancelled {
                peak = max(peak, Self.residentBytes(of: pid))
                try? await Task.sleep(for: .milliseconds(20))
            }
            return peak
        }
        let reply = try await server.upload(.PUT, "/tables/big", file: URL(fileURLWithPath: csv), contentType: "text/csv")
        sampling.cancel()
        let peak = await sampling.value
        #expect(reply.0 == 200, "\(reply.1)")
        #expect((reply.1["append"] as? [String: Any])?["rows"] as? Int == 3_400_000, "\(reply.1)")
        let growth = peak - baseline
        FileHandle.standardError.write(Data("300 MB CSV append (\(variant)): baseline RSS \(baseline >> 20) MiB, peak \(peak >> 20) MiB, growth \(growth >> 20) MiB\n".utf8))
        #expect(growth < 100_000_000, "peak RSS grew by \(growth >> 20) MiB (baseline \(baseline >> 20) MiB)")
    }
}

extension LakeProcessTests {
    @Test func theLakeCommandListsTablesAndSnapshotsAndRunsMaintenance() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/duckling.yaml"
        try "server:\n  data_dir: \(directory)/data\nlake:\n  data_inlining_row_limit: 0\n".write(toFile: config, atomically: true, encoding: .utf8)
        let environment = ProcessEnvironment.clean()
        let server = try ServerProcess(config: config, directory: directory, environment: environment)
        try await server.waitUntilHealthy()
        #expect(try await server.send(.POST, "/tables", json: ["name": "clicks", "columns": [["name": "id", "type": "INTEGER"]]]).0 == 201)
        for id in 0..<5 { #expect(try await server.send(.PUT, "/tables/clicks", json: [["id": id]]).0 == 200) }

        // While the server holds the local catalog, the command says so and changes nothing.
        let binary = try ducklingBinary()
        let held = try run(binary, ["lake", "tables", "--config", config], environment: environment, directory: directory)
        #expect(held.status == 1 && held.stderr.contains("running server holds the lake's catalog"), "\(held.stderr)")
        #expect(server.terminate() == 0)

        let tables = try run(binary, ["lake", "tables", "--config", config], environment: environment, directory: directory)
        #expect(tables.status == 0, "\(tables.stderr)")
        let listed = try JSONSerialization.jsonObject(with: Data(tables.stdout.utf8)) as? [[String: Any]]
        #expect(listed?.first?["name"] as? String == "clicks" && listed?.first?["row_count"] as? Int == 5, "\(tables.stdout)")
        #expect(listed?.first?["data_files"] as? Int == 5)

        let snapshots = try run(binary, ["lake", "snapshots", "clicks", "--config", config], environment: environment, directory: directory)
        let snapshotList = try JSONSerialization.jsonObject(with: Data(snapshots.stdout.utf8)) as? [[String: Any]]
        #expect(snapshotList?.count == 6, "created and five appends: \(snapshots.stdout)")

        let maintenance = try run(binary, ["lake", "maintenance", "clicks", "--config", config], environment: environment, directory: directory)
        #expect(maintenance.status == 0, "\(maintenance.stderr)")
        let report = (try JSONSerialization.jsonObject(with: Data(maintenance.stdout.utf8)) as? [[String: Any]])?.first
        #expect((report?["before"] as? [String: Any])?["files"] as? Int == 5)
        #expect(((report?["after"] as? [String: Any])?["files"] as? Int ?? 5) < 5, "\(maintenance.stdout)")

        let missing = try run(binary, ["lake", "snapshots", "nope", "--config", config], environment: environment, directory: directory)
        #expect(missing.status == 1 && missing.stderr.contains("no lake table named 'nope'"), "\(missing.stderr)")
    }
}
