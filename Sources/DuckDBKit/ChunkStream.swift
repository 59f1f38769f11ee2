internal import CDuckDB
import Foundation
import Synchronization

/// Data chunks handed from one DuckDB statement to a statement of another instance of the same
/// process, with DuckDB's own operators on both sides: the producing statement passes its rows to
/// `chunk_sink(token, column, …)` (``Connection/registerChunkSinkFunction()``), which copies each
/// chunk here on the statement's own threads; the reading statement takes them with
/// `chunk_stream(token)` (``Connection/registerChunkStreamFunction()``), as in
/// `INSERT INTO t SELECT * FROM chunk_stream('…')`. Chunks fetched from a result may be pushed too.
///
/// The queue is bounded: ``push(_:)`` waits while it is full, the reading statement's threads wait
/// while it is empty. ``finish()`` ends it after the queued chunks; ``fail(_:)`` ends it at once and
/// makes both sides throw. Chunks are passed on by reference, not copied, so a chunk pushed here
/// must not be used again by the producer.
public final class ChunkStream: @unchecked Sendable {
    /// The columns every chunk has, which the table function declares.
    public let columns: [Column]
    /// The table function's argument; random, so SQL of callers cannot guess a running stream.
    public let token: String
    /// The connections (``Connection/connectionID``) whose statements may read the stream; on any
    /// other, `chunk_stream` answers as for an unknown token, whatever the arguments.
    let readers: Set<UInt64>
    /// How many of the reading statement's threads may read at once.
    let readerThreads: Int
    private let capacity: Int
    /// Told the rows queued so far, about every 64k rows.
    private let progress: (@Sendable (Int) -> Void)?
    /// The columns' DuckDB types, for the chunks the sink creates; destroyed with the stream.
    private let types: [duckdb_logical_type?]
    /// Guards everything below.
    private let condition = NSCondition()
    private var queue: [DataChunk] = []
    private var finished = false
    private var failure: (any Error)?
    private var queued = 0
    private var delivered = 0

    /// The live streams by token. Weak, so a stream nobody holds is gone.
    private static let registry = Mutex<[String: Weak]>([:])

    private struct Weak {
        weak var stream: ChunkStream?
    }

    /// Throws if a column's type cannot be made in DuckDB.
    public init(
        columns: [Column], readableBy readers: Set<UInt64>, capacity: Int = 32, readerThreads: Int = 1,
        progress: (@Sendable (Int) -> Void)? = nil
    ) throws {
        var types: [duckdb_logical_type?] = []
        do {
            for column in columns { types.append(try column.type.makeHandle()) }
        } catch {
            for index in types.indices { duckdb_destroy_logical_type(&types[index]) }
            throw error
        }
        self.types = types
        self.readers = readers
        self.progress = progress
        self.columns = columns
        self.capacity = max(1, capacity)
        self.readerThreads = max(1, readerThreads)
        self.token = UUID().uuidString.lowercased()
        let token = self.token
        Self.registry.withLock { $0[token] = Weak(stream: self) }
    }

    deinit {
        let token = self.token
        Self.registry.withLock { _ = $0.removeValue(forKey: token) }
        var types = self.types
        for index in types.indices { duckdb_destroy_logical_type(&types[index]) }
    }

    static func registered(_ token: String) -> ChunkStream? {
        registry.withLock { $0[token]?.stream }
    }

    /// Rows handed to the reading statement so far.
    public var rowsDelivered: Int {
        condition.lock()
        defer { condition.unlock() }
        return delivered
    }

    /// Queues `chunk`, waiting while the queue is full. Throws the failure if the stream failed, or
    /// if the chunk's columns are not the stream's; a chunk pushed after ``finish()`` is a
    /// programming error.
    public func push(_ chunk: DataChunk) throws {
        // The reader takes the vectors as they are: their types must be the declared ones exactly.
        guard chunk.columns.map(\.type) == columns.map(\.type) else {
            throw DuckDBError(code: .invalidValue, message: "chunk columns (\(chunk.columns.map(\.type.sqlName).joined(separator: ", "))) differ from the stream's (\(columns.map(\.type.sqlName).joined(separator: ", ")))")
        }
        condition.lock()
        while queue.count >= capacity && failure == nil { condition.wait() }
        if let failure {
            condition.unlock()
            throw failure
        }
        precondition(!finished, "a chunk pushed after finish()")
        queue.append(chunk)
        let before = queued
        queued += chunk.count
        let total = queued
        condition.broadcast()
        condition.unlock()
        if let progress, total / 65_536 != before / 65_536 { progress(total) }
    }

    /// A new chunk of the stream's columns holding a copy of the first `count` rows of `vectors`
    /// (which a statement reuses once the call that lent them returns).
    func copy(_ vectors: [duckdb_vector?], count: Int) -> DataChunk? {
        var types = self.types
        guard vectors.count == types.count, let chunk = duckdb_create_data_chunk(&types, idx_t(types.count)) else { return nil }
        let identity = IdentitySelection.shared
        for (index, vector) in vectors.enumerated() {
            duckdb_vector_copy_sel(vector, duckdb_data_chunk_get_vector(chunk, idx_t(index)), identity.handle, idx_t(count), 0, 0)
        }
        duckdb_data_chunk_set_size(chunk, idx_t(count))
        return DataChunk(handle: chunk, columns: columns)
    }

    /// No more chunks: the reader gets the queued ones, then the end.
    public func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Ends the stream with `error` (the first failure wins): the reading statement fails and
    /// producers' next ``push(_:)`` throws it. Queued chunks are dropped.
    public func fail(_ error: any Error) {
        condition.lock()
        if failure == nil { failure = error }
        queue.removeAll()
        condition.broadcast()
        condition.unlock()
    }

    /// The first failure, if the stream failed.
    public var error: (any Error)? {
        condition.lock()
        defer { condition.unlock() }
        return failure
    }

    /// The next chunk, waiting for one; nil at the end. Called on the reading statement's threads.
    func next() throws -> DataChunk? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !finished && failure == nil { condition.wait() }
        if let failure { throw failure }
        guard !queue.isEmpty else { return nil }
        let chunk = queue.removeFirst()
        delivered += chunk.count
        condition.broadcast()
        return chunk
    }
}

/// The selection 0, 1, 2, … of a whole vector, shared read-only by every copy.
private final class IdentitySelection: @unchecked Sendable {
    static let shared = IdentitySelection()
    let handle: duckdb_selection_vector?

    private init() {
        let size = Int(duckdb_vector_size())
        handle = duckdb_create_selection_vector(idx_t(size))
        if let handle, let indices = duckdb_selection_vector_get_data_ptr(handle) {
            for index in 0..<size { indices[index] = sel_t(index) }
        }
    }
}
