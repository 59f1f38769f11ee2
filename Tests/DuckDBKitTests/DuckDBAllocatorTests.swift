@testable import DuckDBKit
import Testing

@Suite struct DuckDBAllocatorTests {
    /// The linked DuckDB has jemalloc on Linux; its defaults for new arenas take Duckling's decay
    /// times once a database opens (a renamed symbol or changed API would make this false).
    @Test func jemallocTakesTheDecaySettings() throws {
        let database = try Database(path: nil)
        defer { database.close() }
        #if os(Linux)
        #expect(DuckDBAllocator.returnsFreedMemoryPromptly)
        #endif
    }
}
