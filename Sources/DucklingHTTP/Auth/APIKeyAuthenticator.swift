public import DucklingCore

/// Matches bearer keys against the configured ones in constant time (per key compared), so the
/// time taken says nothing about how close a guess was.
public struct APIKeyAuthenticator: Sendable {
    private let keys: [(key: [UInt8], principal: Principal)]

    public init(configuration: DucklingConfiguration, adminKey: Secret) {
        var keys: [([UInt8], Principal)] = [(Array(adminKey.value.utf8), Principal(role: .admin, database: nil))]
        keys += configuration.server.readOnlyKeys.map { (Array($0.value.utf8), Principal(role: .readOnly, database: nil)) }
        for database in configuration.databases {
            keys += database.apiKeys.map { (Array($0.value.utf8), Principal(role: .admin, database: database.id)) }
        }
        self.keys = keys.filter { !$0.0.isEmpty }
    }

    /// The principal of `candidate`, or nil if it matches no key. Every key is compared in full.
    public func principal(for candidate: String) -> Principal? {
        let presented = Array(candidate.utf8)
        var match: Principal?
        for (key, principal) in keys where Self.constantTimeEquals(presented, key) {
            match = match ?? principal
        }
        return match
    }

    /// Equal length and equal bytes, examining every byte of the longer input whatever differs.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt64(a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= UInt64(x ^ y)
        }
        return difference == 0
    }
}
