import DuckDBKit

/// The part of a running query that lives on its connection: the streaming result and the
/// encoder turning its chunks into bytes. Only used inside the connection's jobs.
final class QueryCursor {
    private var result: QueryResult?
    private var encoder: any ResultEncoder
    private(set) var rowCount = 0
    private let started: ContinuousClock.Instant

    /// Bytes produced by one step, and whether the result is exhausted (and the transaction ended).
    struct Step: Sendable {
        var bytes: [UInt8]
        var finished: Bool
        /// Rows encoded so far.
        var rows: Int
    }

    init(result: QueryResult, encoder: any ResultEncoder, started: ContinuousClock.Instant) {
        self.result = result
        self.encoder = encoder
        self.started = started
    }

    /// Starts the body and reads chunks until about `budget` bytes are ready, `maxChunks` chunks
    /// were read, or the result ends; at the end, the encoder's footer is written and the
    /// read-only transaction committed.
    func advance(on connection: Connection, budget: Int, maxChunks: Int = .max, isFirst: Bool) throws -> Step {
        var out: [UInt8] = []
        // Small to start with, growing as chunks come: most answers are a few hundred bytes, and
        // a 64 KB buffer per query cost a large malloc and free each time (glibc also consolidates
        // its fast bins on every free that large).
        out.reserveCapacity(min(budget, 4096))
        if isFirst { encoder.begin(into: &out) }
        var chunks = 0
        while out.count < budget && chunks < maxChunks {
            chunks += 1
            guard let result, let chunk = try result.nextChunk() else {
                self.result = nil
                let elapsed = ContinuousClock.now - started
                encoder.end(rowCount: rowCount, elapsedMilliseconds: elapsed.milliseconds, into: &out)
                try connection.cachedStatement("COMMIT").run()
                return Step(bytes: out, finished: true, rows: rowCount)
            }
            try encoder.encode(chunk, into: &out)
            rowCount += chunk.count
        }
        return Step(bytes: out, finished: false, rows: rowCount)
    }

    /// Ends the transaction after a failure and returns the bytes that report it in-band, or nil
    /// when the format cannot.
    func fail(_ error: QueryError, on connection: Connection) -> [UInt8]? {
        result = nil
        connection.rollbackIfInTransaction()
        var out: [UInt8] = []
        return encoder.fail(error, rowCount: rowCount, into: &out) ? out : nil
    }
}

extension Duration {
    var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
