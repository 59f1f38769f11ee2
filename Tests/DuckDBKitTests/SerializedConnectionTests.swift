import DuckDBKit
import Foundation
import Testing

@Suite struct SerializedConnectionTests {
    private let longQuery = "SELECT count(*) FROM range(100000000000)"

    /// Signalled by a job when it starts on its connection, so a test waits for that event.
    private final class Started: Sendable {
        private let stream: AsyncStream<Void>
        private let continuation: AsyncStream<Void>.Continuation

        init() { (stream, continuation) = AsyncStream.makeStream() }

        func signal() { continuation.yield() }

        func wait() async {
            var iterator = stream.makeAsyncIterator()
            _ = await iterator.next()
        }
    }

    @Test func cancellingTheTaskInterruptsTheQuery() async throws {
        let database = try Database(path: nil)
        let connection = try SerializedConnection(database: database, label: "test")
        let started = ContinuousClock.now
        let running = Started()
        let task = Task {
            try await connection.run { running.signal(); return try $0.query(self.longQuery).scalar() }
        }
        await running.wait()
        task.cancel()
        let outcome = await task.result
        #expect(ContinuousClock.now - started < .seconds(2))
        guard case .failure(let error as DuckDBError) = outcome else {
            Issue.record("expected an interruption, got \(outcome)")
            return
        }
        #expect(error.code == .interrupted)
        // The connection is usable again, and not left interrupted.
        #expect(try await connection.run { try $0.query("SELECT 7").scalar() } == .integer(7))
    }

    /// Cancelled between DuckDB scheduling a statement's tasks and running any of them (the start
    /// of a statement clears DuckDB's interrupt flag, so the interruption came "before" it): the
    /// statement's tasks stop too. They used to run on DuckDB's worker to the end of the count
    /// (about 5 s here), and the connection's next statement waited for them.
    @Test func aStatementCancelledAsItStartsStopsInsideDuckDB() async throws {
        let database = try Database(path: nil)
        let connection = try SerializedConnection(database: database, label: "test")
        let interrupter = Interrupter()
        do {
            _ = try await connection.run(interrupter: interrupter) { duckdb in
                let statement = try duckdb.prepare("SELECT count(*) FROM range(20000000000)")
                interrupter.interrupt(.cancelled)
                return try statement.execute(streaming: false).scalar()
            }
            Issue.record("the cancelled statement ran to the end")
        } catch let error as DuckDBError {
            #expect(error.code == .interrupted)
        }
        let started = ContinuousClock.now
        #expect(try await connection.run { try $0.query("SELECT 7").scalar() } == .integer(7))
        #expect(ContinuousClock.now - started < .seconds(1))
    }

    @Test func aJobCancelledBeforeItStartsNeverRuns() async throws {
        let database = try Database(path: nil)
        let connection = try SerializedConnection(database: database, label: "test")
        try await connection.run { try $0.execute("CREATE TABLE marks (i INTEGER)") }
        // Occupy the queue so the second job is still waiting when it is cancelled.
        let running = Started()
        let blocker = Task { try await connection.run { running.signal(); return try $0.query("SELECT count(*) FROM range(300000000)").scalar() } }
        await running.wait()
        let waiting = Task { try await connection.run { try $0.execute("INSERT INTO marks VALUES (1)") } }
        waiting.cancel()
        let result = await waiting.result
        #expect(throws: CancellationError.self) { try result.get() }
        _ = try await blocker.value
        #expect(try await connection.run { try $0.query("SELECT count(*) FROM marks").scalar() } == .bigint(0))
    }

    @Test func aStreamingResultIsReadAcrossSeparateJobs() async throws {
        let database = try Database(path: nil)
        let connection = try SerializedConnection(database: database, label: "test")
        let bound = try await connection.run { [connection] in
            connection.bind(try $0.prepare("SELECT range AS i FROM range(10000)").execute(streaming: true), to: $0)
        }
        var total = 0
        var chunks = 0
        while let count = try await connection.run({ connection -> Int? in
            guard let chunk = try connection.unwrap(bound).nextChunk() else { return nil }
            return chunk.count
        }) {
            total += count
            chunks += 1
        }
        #expect(total == 10000)
        #expect(chunks >= 4)
    }

    @Test func longQueriesDoNotBlockOtherConnections() async throws {
        let database = try Database(path: nil, configuration: DatabaseConfiguration(threads: 2))
        let busy = try SerializedConnection(database: database, label: "busy")
        let quick = try SerializedConnection(database: database, label: "quick")
        let running = Started()
        let long = Task { try await busy.run { running.signal(); return try $0.query(self.longQuery).scalar() } }
        await running.wait()
        let started = ContinuousClock.now
        #expect(try await quick.run { try $0.query("SELECT 1").scalar() } == .integer(1))
        #expect(ContinuousClock.now - started < .milliseconds(100))
        long.cancel()
        _ = await long.result
    }
}
