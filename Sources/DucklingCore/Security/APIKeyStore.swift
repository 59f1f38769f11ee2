import Foundation

/// The admin key: the configured one, or one generated on first start and kept in
/// `DATA_DIR/api-key` with mode 0600 (DESIGN.md §11).
public enum APIKeyStore {
    public struct Resolved: Sendable {
        public let key: Secret
        /// The file the key was read from or written to; nil when it came from the configuration.
        public let file: String?
        /// True when this call created the key.
        public let generated: Bool
    }

    public struct StoreError: Error, CustomStringConvertible {
        public let description: String
    }

    public static func resolve(_ configuration: DucklingConfiguration) throws -> Resolved {
        if let key = configuration.server.apiKey, !key.isEmpty {
            return Resolved(key: key, file: nil, generated: false)
        }
        let path = configuration.server.dataDirectory + "/api-key"
        if let existing = try read(path) {
            return Resolved(key: existing, file: path, generated: false)
        }
        try FileManager.default.createDirectory(atPath: configuration.server.dataDirectory, withIntermediateDirectories: true)
        let key = Secret(generateKey())
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            // Another process created it first: use that one.
            if errno == EEXIST, let existing = try read(path) { return Resolved(key: existing, file: path, generated: false) }
            throw StoreError(description: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let bytes = Array((key.value + "\n").utf8)
        guard write(descriptor, bytes, bytes.count) == bytes.count, fsync(descriptor) == 0 else {
            throw StoreError(description: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        return Resolved(key: key, file: path, generated: true)
    }

    /// 32 random bytes as 64 hex digits.
    static func generateKey() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    private static func read(_ path: String) throws -> Secret? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StoreError(description: "cannot read \(path)")
        }
        let key = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !key.isEmpty else { throw StoreError(description: "\(path) is empty; delete it to generate a new key") }
        return Secret(key)
    }
}
