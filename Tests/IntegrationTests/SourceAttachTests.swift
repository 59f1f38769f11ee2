import DuckDBKit
@testable import DucklingCore
import DucklingTestSupport
import Foundation
import Synchronization
import Testing

/// Each run attaches its source on a connection of its own, with a time limit on connecting.
@Suite(.serialized) struct SourceAttachTests {
    @Test func aSourceThatNeverAnswersTimesOutAndHoldsUpNoOtherRun() async throws {
        let listener = try SilentListener()
        defer { listener.stop() }
        let table = SyncFixture.uniqueName("fine")
        try TestEnvironment.psql("CREATE TABLE \(table) (id int PRIMARY KEY); INSERT INTO \(table) SELECT generate_series(1, 100)")
        defer { _ = try? TestEnvironment.psql("DROP TABLE \(table)") }
        let yaml = """
            databases:
              default:
                sources:
                  pg: { url: "\(try TestEnvironment.postgresURL)" }
                  silent: { url: "postgresql://nobody:nothing@127.0.0.1:\(listener.port)/none", connect_timeout: 8 }
                datasets:
                  stuck: { source: silent, table: anything }
                  fine: { source: pg, table: \(table) }
            """
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual) { server in
            #expect(try await server.request(.POST, "/api/store/sync/stuck").status == 202)
            // The silent server has accepted the run's connection and says nothing.
            try await listener.waitForConnection()
            let started = ContinuousClock.now
            let fine = try await server.request(.POST, "/api/store/sync/fine?wait=true", timeout: .seconds(30))
            #expect(fine.status == 200, "\(fine.text)")
            // Well inside the silent source's connect timeout: the other run waited for nothing of it.
            #expect(ContinuousClock.now - started < .seconds(4), "the other run waited \(ContinuousClock.now - started)")
            var status: [String: Any] = [:]
            _ = try await eventually {
                status = try await SyncFixture.status(server, "stuck")
                return status["state"] as? String == "error"
            }
            #expect(status["state"] as? String == "error", "\(status)")
            #expect((status["last_error"] as? String)?.lowercased().contains("timeout") == true, "\(status)")
            #expect((status["last_error"] as? String)?.contains("nothing") == false, "the password leaked: \(status)")
        }
    }

    @Test func aFailedDetachIsLogged() async throws {
        let table = SyncFixture.uniqueName("detached")
        try TestEnvironment.psql("CREATE TABLE \(table) (id int PRIMARY KEY); INSERT INTO \(table) VALUES (1)")
        defer { _ = try? TestEnvironment.psql("DROP TABLE \(table)") }
        let logs = LogCapture()
        let yaml = try SyncFixture.configuration(datasets: "detached: { source: pg, table: \(table) }")
        try await TestServer.run(yaml: yaml, environment: SyncFixture.manual, logs: logs) { server in
            Failpoints.enable("sync.detach", .error, scope: try #require(server.services.registry.database("default")).settings.path)
            defer { Failpoints.disable("sync.detach") }
            #expect(try await SyncFixture.sync(server, "detached")["status"] as? String == "succeeded")
            #expect(logs.all.contains { $0.contains("could not detach a sync's source") && $0.contains("failpoint sync.detach fired") }, "\(logs.text)")
        }
    }
}

/// A TCP server on loopback that accepts connections and never sends a byte: a source that hangs.
final class SilentListener: Sendable {
    let port: Int
    private let socket: Int32
    private let accepted = Mutex<[Int32]>([])
    private let stopped = Atomic(false)

    init() throws {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.socket = socket
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(socket, 16) == 0 else { throw TestFailure("cannot listen: \(String(cString: strerror(errno)))") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in
            while !stopped.load(ordering: .acquiring) {
                let connection = accept(socket, nil, nil)
                guard connection >= 0 else { return }
                accepted.withLock { $0.append(connection) }
            }
        }.start()
    }

    /// Returns once a client has connected.
    func waitForConnection() async throws {
        guard await eventually({ [self] in accepted.withLock { !$0.isEmpty } }) else {
            throw TestFailure("nobody connected to the silent listener")
        }
    }

    func stop() {
        stopped.store(true, ordering: .releasing)
        shutdown(socket, Int32(SHUT_RDWR))
        close(socket)
        for connection in accepted.withLock({ $0 }) { close(connection) }
    }
}
