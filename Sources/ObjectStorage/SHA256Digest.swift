import Crypto
import Foundation

enum SHA256Digest {
    static func of(_ data: Data) -> SHA256.Digest {
        SHA256.hash(data: data)
    }
}
