@testable import DucklingCore
import Testing

@Suite struct EnvironmentExpansionTests {
    @Test func expandsVariablesDefaultsAndEscapes() {
        let environment = ["USER": "duck", "EMPTY": ""]
        #expect(EnvironmentExpansion.expand("a ${USER} b", environment: environment) == .success("a duck b"))
        #expect(EnvironmentExpansion.expand("${EMPTY:-fallback}", environment: environment) == .success("fallback"))
        #expect(EnvironmentExpansion.expand("${MISSING:-}", environment: environment) == .success(""))
        #expect(EnvironmentExpansion.expand("cost $5 and $$", environment: environment) == .success("cost $5 and $"))
        #expect(EnvironmentExpansion.expand("${MISSING}", environment: environment) == .failure(.missing("MISSING")))
        #expect(EnvironmentExpansion.expand("${USER", environment: environment) == .failure(.unterminated))
        #expect(EnvironmentExpansion.expand("${1BAD}", environment: environment) == .failure(.invalidName("1BAD")))
    }
}
