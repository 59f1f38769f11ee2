import DucklingCore
import Logging
import Synchronization
import Testing

/// The process's log handler: metadata set on a logger reaches every line it writes, and setting it
/// costs the handler that writes lines nothing until a line is written.
struct LazyMetadataLogHandlerTests {
    /// Where the recording handler writes its lines, and how often its metadata was set.
    private final class Sink: Sendable {
        let lines = Mutex<[String]>([])
        let metadataSets = Mutex<Int>(0)
    }

    /// A handler that writes lines the way swift-log's stream handler does, counting metadata sets.
    private struct Recorder: LogHandler {
        let sink: Sink
        var logLevel: Logger.Level = .info
        var metadata: Logger.Metadata = [:] {
            didSet { sink.metadataSets.withLock { $0 += 1 } }
        }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            sink.lines.withLock { $0.append("\(event.level) \(fields) \(event.message)") }
        }
    }

    private func logger(_ sink: Sink) -> Logger {
        Logger(label: "test") { _ in LazyMetadataLogHandler(Recorder(sink: sink)) }
    }

    @Test func metadataSetOnTheLoggerIsOnEveryLineItWritesAndNothingIsHandedOverBefore() {
        let sink = Sink()
        var logger = logger(sink)
        for id in 0..<100 { logger[metadataKey: "request_id"] = "\(id)" }
        logger[metadataKey: "database"] = "default"
        logger.debug("below the level: never written")
        #expect(sink.metadataSets.withLock { $0 } == 0, "setting metadata must not reach the writing handler")

        logger.warning("slow query", metadata: ["ms": "1200"])
        logger.info("done")
        #expect(sink.lines.withLock { $0 } == [
            "warning database=default ms=1200 request_id=99 slow query",
            "info database=default request_id=99 done",
        ])
        #expect(sink.metadataSets.withLock { $0 } == 2, "one hand-over per line written")
    }

    @Test func theLevelIsTheWritingHandlersAndACopyKeepsItsOwnMetadataAndLevel() {
        let sink = Sink()
        var first = logger(sink)
        first.logLevel = .error
        first[metadataKey: "who"] = "first"
        var second = first
        second[metadataKey: "who"] = "second"
        second.logLevel = .info
        first.warning("dropped")
        first.error("kept")
        second.info("also kept")
        #expect(first.logLevel == .error && second.logLevel == .info)
        #expect(sink.lines.withLock { $0 } == ["error who=first kept", "info who=second also kept"])
    }
}
