public import Metrics
import Synchronization

/// Counters and timers by label and dimensions, created once through an injected factory (no
/// global metrics bootstrap, so tests can build many servers in one process).
public final class MetricHandles: Sendable {
    private let factory: any MetricsFactory
    private let handles = Mutex<[String: AnyObject]>([:])

    public init(factory: any MetricsFactory) {
        self.factory = factory
    }

    public func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        handle("counter", label, dimensions) { Counter(label: label, dimensions: dimensions, factory: factory) }
    }

    public func timer(_ label: String, _ dimensions: [(String, String)]) -> Timer {
        handle("timer", label, dimensions) { Timer(label: label, dimensions: dimensions, factory: factory) }
    }

    private func handle<Handle: AnyObject>(
        _ kind: String, _ label: String, _ dimensions: [(String, String)], make: () -> Handle
    ) -> Handle {
        let key = ([kind, label] + dimensions.map { "\($0.0)=\($0.1)" }).joined(separator: "\u{1F}")
        return handles.withLock { handles in
            if let existing = handles[key] as? Handle { return existing }
            let created = make()
            handles[key] = created
            return created
        }
    }
}
