@testable import DucklingCore
import Testing

@Suite struct SQLTextTests {
    @Test func findsTheFirstKeywordPastCommentsAndParentheses() {
        #expect(SQLText.firstKeyword("select 1") == "SELECT")
        #expect(SQLText.firstKeyword("  -- a\n /* b /* nested */ c */ ((WITH x AS (SELECT 1) SELECT 2") == "WITH")
        #expect(SQLText.firstKeyword("\n\tcreate table t(i int)") == "CREATE")
        #expect(SQLText.firstKeyword("   ") == nil)
        #expect(SQLText.firstKeyword("-- only a comment") == nil)
    }

    @Test func stripsTrailingSemicolons() {
        #expect(SQLText.withoutTrailingSemicolons("SELECT 1 ;; \n") == "SELECT 1")
    }
}
