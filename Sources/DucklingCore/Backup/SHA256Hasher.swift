import Crypto
import Foundation
import ObjectStorage
import Synchronization

/// A SHA-256 fed from a copy running on another thread.
final class SHA256Hasher: Sendable {
    private let hasher = Mutex(SHA256())

    func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.withLock { $0.update(bufferPointer: bytes) }
    }

    /// Feeds the whole file at `url`, off the cooperative pool.
    func update(file url: URL) async throws {
        try await BlockingIO.run {
            try FileDescriptor.open(url.path, flags: O_RDONLY).withClose { input in
                var buffer = [UInt8](repeating: 0, count: FileCopy.chunkSize)
                while true {
                    let count = try buffer.withUnsafeMutableBytes { try input.read(into: $0) }
                    if count == 0 { break }
                    buffer.withUnsafeBytes { self.update(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                }
            }
        }
    }

    func hexDigest() -> String {
        hasher.withLock { $0.finalize() }.map { String(format: "%02x", $0) }.joined()
    }
}
