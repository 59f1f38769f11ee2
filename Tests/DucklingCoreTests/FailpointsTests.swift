@testable import DucklingCore
import Foundation
import Testing

/// Failpoints are inert unless set, fire as set, and refuse what would inject nothing.
@Suite(.serialized) struct FailpointsTests {
    @Test func settingsNameKnownPointsAndActions() {
        #expect(Failpoints.isValidSetting(""))
        #expect(Failpoints.isValidSetting("restore.swap.after-move-in=kill,sync.prepare=error*2,backup.list=sleep(10),database.open=pause"))
        // A typo, an unknown action or a bad count would inject nothing: refused.
        #expect(!Failpoints.isValidSetting("restore.swap.after-move-inn=kill"))
        #expect(!Failpoints.isValidSetting("sync.prepare=explode"))
        #expect(!Failpoints.isValidSetting("sync.prepare=kill*abc"))
        #expect(!Failpoints.isValidSetting("sync.prepare"))
    }

    @Test func aPointFiresOnlyInItsScopeAndOnlyAsOftenAsSet() async throws {
        let scope = "/tmp/failpoint-\(UUID().uuidString)"
        Failpoints.enable("sync.detach", .error, scope: scope, times: 1)
        defer { Failpoints.disable("sync.detach") }
        // Another scope: nothing happens, nothing is counted.
        try Failpoints.hitBlocking("sync.detach", scope: "/elsewhere")
        #expect(Failpoints.hitCount("sync.detach") == 0)
        #expect(throws: FailpointError.self) { try Failpoints.hitBlocking("sync.detach", scope: scope + "/db") }
        try await Failpoints.hit("sync.detach", scope: scope)
        #expect(Failpoints.hitCount("sync.detach") == 2)
    }

    @Test func aPausedHitGoesOnWhenResumed() async throws {
        let scope = "/tmp/failpoint-\(UUID().uuidString)"
        Failpoints.enable("sync.reset-watermark", .pause, scope: scope)
        defer { Failpoints.disable("sync.reset-watermark") }
        let paused = Task { try await Failpoints.hit("sync.reset-watermark", scope: scope) }
        await Failpoints.waitUntilHit("sync.reset-watermark")
        Failpoints.resume("sync.reset-watermark")
        try await paused.value
    }
}
