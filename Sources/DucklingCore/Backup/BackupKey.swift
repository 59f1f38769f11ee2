public import Crypto
import CryptoExtras
import Foundation

/// Where the backup encryption key comes from: 32 random bytes (`DUCKLING_BACKUP_KEY`, base64),
/// or a passphrase stretched with scrypt using the salt and cost stored in each backup's header.
public enum BackupKeySource: Sendable {
    case key(SymmetricKey)
    case passphrase(String)

    /// scrypt cost used for new backups: N = 2^15, r = 8, p = 1 (32 MiB, about 0.1 s).
    static let scryptLogN: UInt8 = 15
    static let scryptR: UInt8 = 8
    static let scryptP: UInt8 = 1

    /// The key from a base64 string of exactly 32 bytes.
    public static func base64(_ text: String) throws -> BackupKeySource {
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32 else {
            throw BackupError(.configuration, "the backup key must be 32 random bytes in base64 (openssl rand -base64 32)")
        }
        return .key(SymmetricKey(data: data))
    }

    var headerKind: UInt8 {
        switch self {
        case .key: 1
        case .passphrase: 2
        }
    }

    /// The master key for a backup whose header carries `salt` and the scrypt cost.
    func masterKey(salt: [UInt8], logN: UInt8, r: UInt8, p: UInt8) throws -> SymmetricKey {
        switch self {
        case .key(let key):
            return key
        case .passphrase(let passphrase):
            guard (10...20).contains(logN), (1...32).contains(r), (1...4).contains(p) else {
                throw BackupError(.corrupt, "the backup header has an unsupported scrypt cost")
            }
            return try KDF.Scrypt.deriveKey(from: Data(passphrase.utf8), salt: salt, outputByteCount: 32,
                                            rounds: 1 << Int(logN), blockSize: Int(r), parallelism: Int(p))
        }
    }
}
