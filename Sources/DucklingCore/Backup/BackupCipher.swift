import Crypto
public import Foundation
import ObjectStorage

/// `client-aes256`: streaming, chunked, authenticated AES-256-GCM (docs/backup-format.md).
///
/// The file is a 92-byte header followed by chunks of at most ``chunkSize`` plaintext bytes, each
/// sealed with its own nonce (random prefix, chunk counter, final flag) and the header, database id
/// and backup id as associated data. Every chunk but the last is full; the last is shorter (possibly
/// empty) and flagged final, so truncation at any point, reordering, tampering and a wrong key are
/// all detected. Memory use is one chunk, whatever the file size.
public struct BackupCipher: Sendable {
    public static let chunkSize = 1 << 20
    static let magic = Array("DUCKLENC".utf8)
    static let formatVersion: UInt8 = 1
    static let headerSize = 92
    static let tagSize = 16

    let keySource: BackupKeySource
    /// Bound into every chunk: the database and backup the file belongs to.
    let databaseID: String
    let backupID: String

    public init(keySource: BackupKeySource, databaseID: String, backupID: String) {
        self.keySource = keySource
        self.databaseID = databaseID
        self.backupID = backupID
    }

    /// The parameters recorded in a manifest (never the key).
    public static func manifestParameters(keySource: BackupKeySource) -> BackupManifest.Encryption {
        let passphrase: Bool = if case .passphrase = keySource { true } else { false }
        return .init(scheme: "client-aes256", algorithm: "AES-256-GCM", format: Int(formatVersion), chunkSize: chunkSize,
                     keyDerivation: passphrase ? "scrypt(N=2^\(BackupKeySource.scryptLogN),r=\(BackupKeySource.scryptR),p=\(BackupKeySource.scryptP)) + HKDF-SHA256" : "HKDF-SHA256")
    }

    /// Encrypts `source` into `target` (written through a temporary file). Returns the bytes written.
    public func encrypt(_ source: URL, to target: URL, progress: (@Sendable (Int64) -> Void)? = nil) async throws -> Int64 {
        try await BlockingIO.run { try encryptSync(source, to: target, progress: progress) }
    }

    /// Decrypts `source` into `target`, checking every chunk before the file is kept; on any failure
    /// nothing is left at `target`.
    /// `observe` sees the plaintext, chunk by chunk (to hash it).
    public func decrypt(_ source: URL, to target: URL, observe: (@Sendable (UnsafeRawBufferPointer) -> Void)? = nil,
                        progress: (@Sendable (Int64) -> Void)? = nil) async throws {
        try await BlockingIO.run { try decryptSync(source, to: target, observe: observe, progress: progress) }
    }

    // MARK: - Keys and header

    private struct Keys {
        let encryption: SymmetricKey
        let check: SymmetricKey
    }

    private static func subkeys(master: SymmetricKey, salt: [UInt8]) -> Keys {
        Keys(encryption: HKDF<SHA256>.deriveKey(inputKeyMaterial: master, salt: salt, info: Data("duckling backup v1 encryption".utf8), outputByteCount: 32),
             check: HKDF<SHA256>.deriveKey(inputKeyMaterial: master, salt: salt, info: Data("duckling backup v1 key check".utf8), outputByteCount: 32))
    }

    private func associatedData(header: [UInt8]) -> Data {
        var data = Data(SHA256.hash(data: header))
        for text in [databaseID, backupID] {
            let bytes = Array(text.utf8)
            data.append(contentsOf: [UInt8(bytes.count >> 8 & 0xFF), UInt8(bytes.count & 0xFF)])
            data.append(contentsOf: bytes)
        }
        return data
    }

    private static func nonce(prefix: ArraySlice<UInt8>, counter: UInt32, final: Bool) throws -> AES.GCM.Nonce {
        var bytes = Array(prefix)
        bytes += [UInt8(counter >> 24), UInt8(counter >> 16 & 0xFF), UInt8(counter >> 8 & 0xFF), UInt8(counter & 0xFF)]
        bytes.append(final ? 1 : 0)
        return try AES.GCM.Nonce(data: bytes)
    }

    private func makeHeader() throws -> (header: [UInt8], keys: Keys) {
        var header = Self.magic
        header.append(Self.formatVersion)
        header.append(keySource.headerKind)
        header += [0, 0]
        let chunk = UInt32(Self.chunkSize)
        header += [UInt8(chunk >> 24), UInt8(chunk >> 16 & 0xFF), UInt8(chunk >> 8 & 0xFF), UInt8(chunk & 0xFF)]
        let salt = Self.randomBytes(32)
        header += salt
        header += Self.randomBytes(7)
        header.append(0)
        let cost: [UInt8] = if case .passphrase = keySource {
            [BackupKeySource.scryptLogN, BackupKeySource.scryptR, BackupKeySource.scryptP, 0]
        } else { [0, 0, 0, 0] }
        header += cost
        let keys = Self.subkeys(master: try keySource.masterKey(salt: salt, logN: cost[0], r: cost[1], p: cost[2]), salt: salt)
        header += HMAC<SHA256>.authenticationCode(for: header, using: keys.check)
        return (header, keys)
    }

    /// Checks a header read from a file and derives its keys; a wrong key is told apart from damage.
    private func readHeader(_ header: [UInt8]) throws -> (keys: Keys, chunkSize: Int, noncePrefix: ArraySlice<UInt8>) {
        guard header.count == Self.headerSize, Array(header[0..<8]) == Self.magic else {
            throw BackupError(.corrupt, "not a Duckling encrypted backup (bad header)")
        }
        guard header[8] == Self.formatVersion else {
            throw BackupError(.unsupported, "encrypted backup format \(header[8]) is newer than this Duckling reads (\(Self.formatVersion))")
        }
        guard header[9] == keySource.headerKind else {
            throw BackupError(.wrongKey, header[9] == 2 ? "this backup was encrypted with a passphrase; configure DUCKLING_BACKUP_PASSPHRASE"
                                                        : "this backup was encrypted with a key; configure DUCKLING_BACKUP_KEY")
        }
        let chunkSize = Int(header[12]) << 24 | Int(header[13]) << 16 | Int(header[14]) << 8 | Int(header[15])
        guard chunkSize > 0, chunkSize <= 64 << 20 else { throw BackupError(.corrupt, "the backup header has an invalid chunk size") }
        let salt = Array(header[16..<48])
        let keys = Self.subkeys(master: try keySource.masterKey(salt: salt, logN: header[56], r: header[57], p: header[58]), salt: salt)
        guard HMAC<SHA256>.isValidAuthenticationCode(header[60..<92], authenticating: header[0..<60], using: keys.check) else {
            throw BackupError(.wrongKey, "the backup key does not match this backup (or its header was altered)")
        }
        return (keys, chunkSize, header[48..<55])
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    // MARK: - Streaming

    private func encryptSync(_ source: URL, to target: URL, progress: (@Sendable (Int64) -> Void)?) throws -> Int64 {
        let (header, keys) = try makeHeader()
        let aad = associatedData(header: header)
        let noncePrefix = header[48..<55]
        let input = try FileDescriptor.open(source.path, flags: O_RDONLY)
        defer { input.close() }
        let size = try input.size()
        let chunkCount = size / Int64(Self.chunkSize) + 1 // the last one is short, possibly empty
        guard chunkCount <= Int64(UInt32.max) else { throw BackupError(.io, "the database file is too large to encrypt") }
        var written = Int64(header.count)
        try FileCopy.writeDurably(to: target) { output in
            try header.withUnsafeBytes { try output.writeAll($0) }
            var buffer = [UInt8](repeating: 0, count: Self.chunkSize)
            for index in 0..<chunkCount {
                let final = index == chunkCount - 1
                let count = try buffer.withUnsafeMutableBytes { try input.readFully(into: $0) }
                guard final ? count < Self.chunkSize : count == Self.chunkSize else {
                    throw BackupError(.io, "\(source.path) changed size while it was being encrypted")
                }
                let box = try AES.GCM.seal(buffer[0..<count], using: keys.encryption,
                                           nonce: try Self.nonce(prefix: noncePrefix, counter: UInt32(index), final: final),
                                           authenticating: aad)
                try box.ciphertext.withUnsafeBytes { try output.writeAll($0) }
                try box.tag.withUnsafeBytes { try output.writeAll($0) }
                written += Int64(count + Self.tagSize)
                progress?(Int64(index + 1) * Int64(Self.chunkSize))
            }
        }
        return written
    }

    private func decryptSync(_ source: URL, to target: URL, observe: (@Sendable (UnsafeRawBufferPointer) -> Void)?,
                             progress: (@Sendable (Int64) -> Void)?) throws {
        let input = try FileDescriptor.open(source.path, flags: O_RDONLY)
        defer { input.close() }
        var header = [UInt8](repeating: 0, count: Self.headerSize)
        guard try header.withUnsafeMutableBytes({ try input.readFully(into: $0) }) == Self.headerSize else {
            throw BackupError(.corrupt, "the encrypted backup is shorter than its header")
        }
        let (keys, chunkSize, noncePrefix) = try readHeader(header)
        let aad = associatedData(header: header)
        try FileCopy.writeDurably(to: target) { output in
            var buffer = [UInt8](repeating: 0, count: chunkSize + Self.tagSize)
            var counter: UInt32 = 0
            var plaintextBytes: Int64 = 0
            while true {
                let count = try buffer.withUnsafeMutableBytes { try input.readFully(into: $0) }
                if count == 0 {
                    throw BackupError(.corrupt, "the encrypted backup is truncated (its final chunk is missing)")
                }
                guard count >= Self.tagSize else { throw BackupError(.corrupt, "the encrypted backup is truncated inside a chunk") }
                let final = count < buffer.count
                let plaintext: Data
                do {
                    let box = try AES.GCM.SealedBox(nonce: try Self.nonce(prefix: noncePrefix, counter: counter, final: final),
                                                    ciphertext: buffer[0..<(count - Self.tagSize)], tag: buffer[(count - Self.tagSize)..<count])
                    plaintext = try AES.GCM.open(box, using: keys.encryption, authenticating: aad)
                } catch {
                    throw BackupError(.corrupt, "chunk \(counter) of the encrypted backup failed authentication: the object was altered, truncated or reordered, or belongs to another backup")
                }
                try plaintext.withUnsafeBytes { bytes in
                    observe?(bytes)
                    try output.writeAll(bytes)
                }
                plaintextBytes += Int64(plaintext.count)
                progress?(plaintextBytes)
                if final { break }
                guard counter < UInt32.max else { throw BackupError(.corrupt, "the encrypted backup has too many chunks") }
                counter += 1
            }
            var extra = [UInt8](repeating: 0, count: 1)
            guard try extra.withUnsafeMutableBytes({ try input.read(into: $0) }) == 0 else {
                throw BackupError(.corrupt, "the encrypted backup has data after its final chunk")
            }
        }
    }
}
