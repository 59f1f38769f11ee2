public import Logging
import Synchronization

/// Everything a server logs, at every level, as the lines a log handler would write: for tests
/// that check what the logs say (and what they never say).
public final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])
    private let metadataSets = Mutex(0)

    public init() {}

    /// Every line so far, joined.
    public var text: String { lines.withLock { $0.joined(separator: "\n") } }

    public var all: [String] { lines.withLock { $0 } }

    /// How many times any of this capture's handlers had its metadata set.
    public var metadataSetCount: Int { metadataSets.withLock { $0 } }

    /// A logger whose every message, metadata included, lands here.
    public func logger(label: String) -> Logger {
        var logger = Logger(label: label) { [self] label in handler(label: label) }
        logger.logLevel = .trace
        return logger
    }

    /// The handler behind `logger(label:)`, for wrapping in another one.
    public func handler(label: String) -> some LogHandler {
        Handler(label: label, capture: self)
    }

    fileprivate func append(_ line: String) {
        lines.withLock { $0.append(line) }
    }

    private struct Handler: LogHandler {
        let label: String
        let capture: LogCapture
        var metadata: Logger.Metadata = [:] {
            didSet { capture.metadataSets.withLock { $0 += 1 } }
        }
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
