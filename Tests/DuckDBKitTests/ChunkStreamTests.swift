import DuckDBKit
import Foundation
import Synchronization
import Testing

/// `chunk_sink` on one instance feeding `chunk_stream` on another, as sync moves rows.
@Suite struct ChunkStreamTests {
    /// A source instance with `chunk_sink` and a target with `chunk_stream`.
    private struct Pair {
        let source: Connection
        let target: Connection

        init() throws {
            source = try memoryConnection()
            try source.registerChunkSinkFunction()
            target = try memoryConnection()
            try target.registerChunkStreamFunction()
        }
    }

    /// Runs `sql` on `connection` on a thread of its own (the sink waits while the stream is full);
    /// the returned closure waits for it and rethrows its error.
    private func background(_ connection: Connection, _ sql: String, then finish: @escaping @Sendable ((any Error)?) -> Void) -> () -> (any Error)? {
        let done = DispatchSemaphore(value: 0)
        let failure = Mutex<(any Error)?>(nil)
        let statement = UncheckedBox(connection)
        Thread {
            do {
                try statement.value.execute(sql)
                finish(nil)
            } catch {
                failure.withLock { $0 = error }
                finish(error)
            }
            done.signal()
        }.start()
        return {
            done.wait()
            return failure.withLock { $0 }
        }
    }

    @Test func everyTypeAndNullMovesUnchanged() throws {
        let pair = try Pair()
        let read = "SELECT * EXCLUDE (geometry) FROM test_all_types(), range(3000) AS r(i)"
        let result = try pair.source.query("SELECT * EXCLUDE (i) FROM (\(read)) LIMIT 0", [])
        let stream = try ChunkStream(columns: result.columns, readableBy: [try pair.target.connectionID], capacity: 4)
        let definition = result.columns.map { "\(SQL.quoted($0.name)) \($0.type.sqlName)" }.joined(separator: ", ")
        try pair.target.execute("CREATE TABLE moved (\(definition))")
        let arguments = ([SQL.literal(stream.token)] + result.columns.map { SQL.quoted($0.name) }).joined(separator: ", ")
        let wait = background(pair.source, "SELECT bool_and(chunk_sink(\(arguments))) FROM (\(read))") { error in
            if let error { stream.fail(error) } else { stream.finish() }
        }
        try pair.target.execute("INSERT INTO moved SELECT * FROM chunk_stream(\(SQL.literal(stream.token)))")
        #expect(wait() == nil)
        #expect(stream.rowsDelivered == 9000)
        #expect(try pair.target.single("SELECT count(*) FROM moved") == .bigint(9000))
        // The same rows, as many times each, as the source function gives on this instance.
        let missing = try pair.target.single("""
            SELECT count(*) FROM (SELECT * EXCLUDE (geometry, i) FROM test_all_types(), range(3000) AS r(i) EXCEPT ALL SELECT * FROM moved)
            """)
        #expect(missing == .bigint(0))
        #expect(try pair.target.single("SELECT count(*) FROM moved WHERE \"int\" IS NULL") == .bigint(3000))
    }

    @Test func aColumnOfAnotherTypeFailsBothStatements() throws {
        let pair = try Pair()
        let stream = try ChunkStream(columns: [Column(name: "n", type: .integer)], readableBy: [try pair.target.connectionID])
        try pair.target.execute("CREATE TABLE moved (n INTEGER)")
        let wait = background(pair.source, "SELECT bool_and(chunk_sink(\(SQL.literal(stream.token)), i::VARCHAR)) FROM range(10) r(i)") { error in
            if let error { stream.fail(error) } else { stream.finish() }
        }
        let insert = #expect(throws: DuckDBError.self) {
            try pair.target.execute("INSERT INTO moved SELECT * FROM chunk_stream(\(SQL.literal(stream.token)))")
        }
        let sink = wait()
        #expect(insert?.message.contains("differ from the stream's") == true, "\(String(describing: insert))")
        #expect("\(String(describing: sink))".contains("differ from the stream's"))
        #expect(try pair.target.single("SELECT count(*) FROM moved") == .bigint(0))
    }

    @Test func aFailedStreamStopsAWaitingInsertAndAWaitingSink() throws {
        let pair = try Pair()
        let stream = try ChunkStream(columns: [Column(name: "n", type: .bigint)], readableBy: [try pair.target.connectionID], capacity: 1)
        try pair.target.execute("CREATE TABLE moved (n BIGINT)")
        // An endless sink and an insert taking its chunks: failing the stream must end both,
        // wherever each is waiting.
        let wait = background(pair.source, "SELECT bool_and(chunk_sink(\(SQL.literal(stream.token)), i)) FROM range(10000000000) r(i)") { _ in }
        let insert = background(pair.target, "INSERT INTO moved SELECT * FROM chunk_stream(\(SQL.literal(stream.token)))") { _ in }
        // Both are under way once the insert has taken a chunk.
        while stream.rowsDelivered == 0 { Thread.sleep(forTimeInterval: 0.001) }
        stream.fail(DuckDBError(code: .interrupted, kind: .interrupt, message: "stopped by the test"))
        let insertError = insert()
        let sinkError = wait()
        #expect("\(String(describing: insertError))".contains("stopped by the test"))
        #expect("\(String(describing: sinkError))".contains("stopped by the test"))
        #expect(try pair.target.single("SELECT count(*) FROM moved") == .bigint(0), "a failed insert left rows")
    }

    @Test func anUnknownTokenIsAClearError() throws {
        let pair = try Pair()
        let read = #expect(throws: DuckDBError.self) { try pair.target.execute("SELECT * FROM chunk_stream('nope')") }
        #expect(read?.message.contains("no such stream") == true)
        let sink = #expect(throws: DuckDBError.self) { try pair.source.execute("SELECT chunk_sink('nope', 1)") }
        #expect(sink?.message.contains("no such stream") == true)
    }

    @Test func aStreamCannotBeReadFromAnyOtherConnectionWhateverTheToken() throws {
        let pair = try Pair()
        let stream = try ChunkStream(columns: [Column(name: "n", type: .bigint)], readableBy: [try pair.target.connectionID])
        let other = try pair.target.database.connect()
        for sql in ["SELECT * FROM chunk_stream(\(SQL.literal(stream.token)))", "SELECT * FROM chunk_stream($1)"] {
            let read = #expect(throws: DuckDBError.self) {
                let statement = try other.prepare(sql)
                if statement.parameterCount == 1 { try statement.bind([.varchar(stream.token)]) }
                try statement.run()
            }
            // The same answer as for a token that does not exist: nothing about the stream leaks.
            #expect(read?.message.contains("no such stream") == true, "\(String(describing: read))")
        }
        stream.finish()
        #expect(try pair.target.query("SELECT count(*) FROM chunk_stream($1)", [.varchar(stream.token)]).scalar() == .bigint(0))
    }

    @Test func chunksPushedFromAResultArriveInOrder() throws {
        let pair = try Pair()
        let result = try pair.source.query("SELECT i, i::VARCHAR AS s FROM range(50000) r(i) ORDER BY i", [])
        let stream = try ChunkStream(columns: result.columns, readableBy: [try pair.target.connectionID])
        let chunks = UncheckedBox(result)
        let done = DispatchSemaphore(value: 0)
        Thread {
            do {
                while let chunk = try chunks.value.nextChunk() { try stream.push(chunk) }
                stream.finish()
            } catch {
                stream.fail(error)
            }
            done.signal()
        }.start()
        let moved = try pair.target.query("SELECT i, s FROM chunk_stream(\(SQL.literal(stream.token)))", []).rows()
        done.wait()
        #expect(moved.count == 50000)
        let inOrder = moved.enumerated().allSatisfy { index, row in row == [.bigint(Int64(index)), .varchar(String(index))] }
        #expect(inOrder)
    }
}

/// Hands a value that is used by one thread at a time to another thread.
private struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
