import Crypto
import Synchronization

/// A SHA-256 fed from a copy running on another thread.
final class SHA256Hasher: Sendable {
    private let hasher = Mutex(SHA256())

    func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.withLock { $0.update(bufferPointer: bytes) }
    }

    func hexDigest() -> String {
        hasher.withLock { $0.finalize() }.map { String(format: "%02x", $0) }.joined()
    }
}
