import DucklingCore
import DucklingTestSupport
import Logging
import Testing

/// The process's log handler: metadata set on a logger reaches every line it writes, and setting it
/// costs the handler that writes lines nothing until a line is written.
struct LazyMetadataLogHandlerTests {
    private func logger(_ capture: LogCapture, level: Logger.Level = .info) -> Logger {
        var logger = Logger(label: "test") { label in LazyMetadataLogHandler(capture.handler(label: label)) }
        logger.logLevel = level
        return logger
    }

    @Test func metadataSetOnTheLoggerIsOnEveryLineItWritesAndNothingIsHandedOverBefore() {
        let capture = LogCapture()
        var logger = logger(capture)
        for id in 0..<100 { logger[metadataKey: "request_id"] = "\(id)" }
        logger[metadataKey: "database"] = "default"
        logger.debug("below the level: never written")
        #expect(capture.metadataSetCount == 0, "setting metadata must not reach the writing handler")

        logger.warning("slow query", metadata: ["ms": "1200"])
        logger.info("done")
        #expect(capture.all == [
            "warning test: database=default ms=1200 request_id=99 [DucklingCoreTests] slow query",
            "info test: database=default request_id=99 [DucklingCoreTests] done",
        ])
        #expect(capture.metadataSetCount == 2, "one hand-over per line written")
    }

    @Test func theLevelIsTheWritingHandlersAndACopyKeepsItsOwnMetadataAndLevel() {
        let capture = LogCapture()
        var first = logger(capture, level: .error)
        first[metadataKey: "who"] = "first"
        var second = first
        second[metadataKey: "who"] = "second"
        second.logLevel = .info
        first.warning("dropped")
        first.error("kept")
        second.info("also kept")
        #expect(first.logLevel == .error && second.logLevel == .info)
        #expect(capture.all == ["error test: who=first [DucklingCoreTests] kept", "info test: who=second [DucklingCoreTests] also kept"])
    }
}
