/// The kinds of event on the bus, named as the SSE `event:` field carries them.
public enum EventKind: String, Sendable, CaseIterable, Codable {
    /// An OpenLineage run event was stored.
    case lineageEvent = "lineage_event"
    /// A job (sync, backup, restore, cleanup, health check, lake append) changed state.
    case jobStatus = "job_status"
    /// The figures of the lineage forwarding queue and of the bus.
    case queueStatus = "queue_status"
    /// The figures of `/api/statistics`, every `events.metrics_interval`.
    case systemMetric = "system_metric"
    /// Something failed that no request is waiting for.
    case error
    /// A ping to a client that answers them with `POST /events/pong`.
    case heartbeat

    /// Parses `events=a,b`: nil for an empty list, the names that are not event kinds otherwise.
    public static func parseList(_ text: String) -> Result<Set<EventKind>?, UnknownKinds> {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { return .success(nil) }
        let unknown = names.filter { EventKind(rawValue: $0) == nil }
        guard unknown.isEmpty else { return .failure(UnknownKinds(names: unknown)) }
        return .success(Set(names.compactMap(EventKind.init(rawValue:))))
    }

    public struct UnknownKinds: Error, Sendable {
        public let names: [String]
    }
}
