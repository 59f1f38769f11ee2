import DuckDBKit

/// What caller SQL can run against: a database, or the lake.
protocol ReadTarget: Sendable {
    /// A read connection with the gate of its instance, released by the caller.
    func leaseReader(queueLimit: Int?, interrupter: Interrupter?) async throws -> ReaderLease
}

extension ManagedDatabase: ReadTarget {}
extension Lake: ReadTarget {}
