public import DucklingCore
public import Hummingbird
public import HummingbirdCore
import HummingbirdHTTP2
import HummingbirdTLS
import NIOSSL

/// How the server speaks: HTTP/1.1 in the clear, or HTTPS from PEM files (`server.tls`) with
/// HTTP/2 for clients that offer it (ALPN `h2`, else `http/1.1`). Every connection, and every
/// HTTP/2 stream, gets its own ``ClientCloseWatcher``, so a client that leaves stops its query.
public enum ServerTransport {
    public static func builder(for settings: ServerSettings) throws -> HTTPServerBuilder {
        let stream = HTTP1Channel.Configuration(additionalChannelHandlers: [ClientCloseWatcher()])
        guard let files = settings.tls else { return .http1(configuration: stream) }
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(files.certificate)
        } catch {
            throw TLSSetupError(message: "server.tls.certificate: no PEM certificate could be read from \(files.certificate) (\(error))")
        }
        guard !chain.isEmpty else {
            throw TLSSetupError(message: "server.tls.certificate: \(files.certificate) holds no certificate")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: files.privateKey, format: .pem)
        } catch {
            throw TLSSetupError(message: "server.tls.private_key: no PEM private key could be read from \(files.privateKey) (\(error))")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        do {
            return try .http2Upgrade(tlsConfiguration: configuration, configuration: .init(streamConfiguration: stream))
        } catch {
            throw TLSSetupError(message: "server.tls: the certificate and private key cannot be used together (\(error))")
        }
    }
}

/// Why HTTPS could not be set up from `server.tls`.
public struct TLSSetupError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
