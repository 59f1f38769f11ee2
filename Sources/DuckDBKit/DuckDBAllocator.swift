#if canImport(Glibc)
import Glibc
#endif

/// DuckDB's allocator. On Linux DuckDB links jemalloc, which by default keeps freed pages for a
/// second and then only marks them reclaimable (`MADV_FREE`); such pages count in the process's
/// resident set until the kernel wants them, so a large append looks 10–25 MB bigger than it is
/// (and the memory budget's own measure with it). Duckling has jemalloc give freed pages back
/// after 100 ms, and for real. The settings go through jemalloc's `mallctl`, looked up at run
/// time, because DuckDB's static initialisers start jemalloc before `main` could set its
/// environment variable; without jemalloc (another platform, another build) nothing changes.
public enum DuckDBAllocator {
    static let dirtyDecayMilliseconds = 100
    static let muzzyDecayMilliseconds = 0

    private typealias Mallctl = @convention(c) (UnsafePointer<CChar>?, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?,
                                                UnsafeMutableRawPointer?, Int) -> Int32

    /// Applied once, before the first database opens; true when jemalloc took the defaults.
    public static let returnsFreedMemoryPromptly: Bool = {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "duckdb_je_mallctl") else { return false }
        let mallctl = unsafeBitCast(symbol, to: Mallctl.self)
        var arenas: UInt32 = 0
        var size = MemoryLayout<UInt32>.size
        guard mallctl("arenas.narenas", &arenas, &size, nil, 0) == 0 else { return false }
        // The defaults of arenas made later; then every arena there is (jemalloc refuses the
        // slots of arenas not made yet, which take the defaults when they are).
        var applied = true
        for (name, value) in [("dirty_decay_ms", dirtyDecayMilliseconds), ("muzzy_decay_ms", muzzyDecayMilliseconds)] {
            var milliseconds = value
            if mallctl("arenas.\(name)", nil, nil, &milliseconds, MemoryLayout<Int>.size) != 0 { applied = false }
            for arena in 0..<arenas {
                var milliseconds = value
                _ = mallctl("arena.\(arena).\(name)", nil, nil, &milliseconds, MemoryLayout<Int>.size)
            }
        }
        return applied
        #else
        return false
        #endif
    }()
}
