@testable import DucklingCore
import Foundation
import Testing

@Suite struct APIKeyStoreTests {
    private func configuration(dataDirectory: String, key: String? = nil) throws -> DucklingConfiguration {
        var environment: [String: String] = [:]
        if let key { environment["DUCKLING_API_KEY"] = key }
        return try ConfigurationLoader(environment: environment, workingDirectory: "/").load(file: nil, overrides: .init(dataDirectory: dataDirectory))
    }

    @Test func aKeyIsGeneratedOnceWithOwnerOnlyPermissions() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try APIKeyStore.resolve(configuration(dataDirectory: directory))
        #expect(first.generated)
        #expect(first.file == directory + "/api-key")
        #expect(first.key.value.count == 64)
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/api-key")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let second = try APIKeyStore.resolve(configuration(dataDirectory: directory))
        #expect(!second.generated)
        #expect(second.key == first.key)
    }

    @Test func aConfiguredKeyWinsAndNothingIsWritten() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let resolved = try APIKeyStore.resolve(configuration(dataDirectory: directory, key: "configured"))
        #expect(resolved.key.value == "configured" && resolved.file == nil)
        #expect(!FileManager.default.fileExists(atPath: directory + "/api-key"))
    }

    @Test func generatedKeysDiffer() {
        #expect(APIKeyStore.generateKey() != APIKeyStore.generateKey())
    }
}
