public import Logging
import Synchronization

/// Everything a server logs, at every level, as the lines a log handler would write: for tests
/// that check what the logs say (and what they never say).
public final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    public init() {}

    /// Every line so far, joined.
    public var text: String { lines.withLock { $0.joined(separator: "\n") } }

    public var all: [String] { lines.withLock { $0 } }

    /// A logger whose every message, metadata included, lands here.
    public func logger(label: String) -> Logger {
        var logger = Logger(label: label) { [self] label in Handler(label: label, capture: self) }
        logger.logLevel = .trace
        return logger
    }

    fileprivate func append(_ line: String) {
        lines.withLock { $0.append(line) }
    }

    private struct Handler: LogHandler {
        let label: String
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            capture.append("\(event.level) \(label): \(fields) [\(event.source)] \(event.message)")
        }
    }
}
