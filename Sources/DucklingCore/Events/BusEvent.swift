public import Foundation

/// One event as it was published: its id, kind and the SSE frame every subscriber is sent.
/// The frame is made once, when the event is published, and shared by every queue it is in.
public struct BusEvent: Sendable {
    public let id: UInt64
    public let kind: EventKind
    /// Seconds since 1970.
    public let timestamp: Double
    /// `id:`, `event:` and `data: {"timestamp": …, "data": …}` lines and the blank line after them.
    public let frame: [UInt8]

    /// `data` is the event's JSON (one line: JSON text never holds a raw line break).
    init(id: UInt64, kind: EventKind, timestamp: Double, data: [UInt8]) {
        self.id = id
        self.kind = kind
        self.timestamp = timestamp
        frame = Self.frame(id: id, event: kind.rawValue, timestamp: timestamp, data: data)
    }

    /// An SSE frame; `id` nil for frames a resuming client must not count (pings, markers).
    public static func frame(id: UInt64?, event: String, timestamp: Double, data: [UInt8]) -> [UInt8] {
        var frame: [UInt8] = []
        frame.reserveCapacity(data.count + 96)
        if let id { frame.append(contentsOf: Array("id: \(id)\n".utf8)) }
        frame.append(contentsOf: Array("event: \(event)\ndata: {\"timestamp\": \(Self.format(timestamp)), \"data\": ".utf8))
        frame.append(contentsOf: data)
        frame.append(contentsOf: Array("}\n\n".utf8))
        return frame
    }

    /// Seconds with microsecond precision, as JSON writes a number.
    static func format(_ timestamp: Double) -> String {
        String(format: "%.6f", timestamp)
    }

    /// The JSON of `value`, on one line.
    public static func json(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return (try? Array(encoder.encode(value))) ?? Array("null".utf8)
    }
}
