import DuckDBKit
import Testing

@Suite struct StatementTests {
    @Test func extractsAndClassifiesWithDuckDBsParser() throws {
        let connection = try memoryConnection()
        try connection.execute("CREATE TABLE t (i INTEGER)")
        let cases: [(String, StatementType)] = [
            ("SELECT 1", .select), ("INSERT INTO t VALUES (1)", .insert), ("UPDATE t SET i = 2", .update),
            ("DELETE FROM t", .delete), ("CREATE TABLE u (i INT)", .create), ("DROP TABLE t", .drop),
            ("ATTACH ':memory:' AS other", .attach), ("SET threads = 1", .set), ("COPY t TO 'x.csv'", .copy),
            ("EXPLAIN SELECT 1", .explain), ("PRAGMA enable_profiling", .pragma), ("PRAGMA version", .select), ("CALL pragma_version()", .call),
            ("LOAD httpfs", .load), ("BEGIN", .transaction),
        ]
        for (sql, expected) in cases {
            let statements = try connection.extractStatements(sql)
            #expect(statements.count == 1)
            #expect(try statements.prepare(at: 0).statementType == expected, "\(sql)")
        }
        // Statements DuckDB cannot bind are reported as errors, never classified.
        for sql in ["CREATE SECRET s (TYPE s3)", "EXECUTE missing"] {
            #expect(throws: DuckDBError.self, "\(sql)") { _ = try connection.extractStatements(sql).prepare(at: 0) }
        }
        #expect(try connection.extractStatements("SELECT 1; SELECT 2").count == 2)
    }

    @Test func syntaxErrorsKeepDuckDBsMessageAndKind() throws {
        let connection = try memoryConnection()
        let error = #expect(throws: DuckDBError.self) { _ = try connection.extractStatements("SELEC 1") }
        #expect(error?.kind == .parser)
        #expect(error?.message.contains("syntax error at or near \"SELEC\"") == true)
        let missing = #expect(throws: DuckDBError.self) { _ = try connection.prepare("SELECT * FROM nowhere") }
        #expect(missing?.kind == .catalog)
        #expect(missing?.code == .prepareFailed)
    }

    @Test func descriptionNeverContainsTheSQL() throws {
        let connection = try memoryConnection()
        let error = #expect(throws: DuckDBError.self) { _ = try connection.prepare("SELECT 'password=hunter2' FROM nowhere") }
        #expect(error?.sql?.contains("hunter2") == true)
        #expect(error.map { String(describing: $0) }?.contains("hunter2") == false)
    }

    @Test func bindsPositionalAndNamedParameters() throws {
        let connection = try memoryConnection()
        let positional = try connection.prepare("SELECT $1::INTEGER + $2::INTEGER, $3::VARCHAR || '!'")
        try positional.bind([.integer(40), .bigint(2), .varchar("hi")])
        #expect(try positional.execute().rows() == [[.integer(42), .varchar("hi!")]])

        let named = try connection.prepare("SELECT $greeting || ', ' || $name")
        try named.bind(named: ["greeting": .varchar("hello"), "name": .varchar("duck")])
        #expect(try named.execute().rows() == [[.varchar("hello, duck")]])

        let question = try connection.prepare("SELECT ? * 2")
        try question.bind([.double(1.25)])
        #expect(try question.execute().rows() == [[.double(2.5)]])
    }

    @Test func wrongParameterCountsAreClearErrors() throws {
        let connection = try memoryConnection()
        let statement = try connection.prepare("SELECT $1, $2")
        let tooFew = #expect(throws: DuckDBError.self) { try statement.bind([.integer(1)]) }
        #expect(tooFew?.message.contains("2 parameters but 1") == true)
        let named = try connection.prepare("SELECT $a")
        let unknown = #expect(throws: DuckDBError.self) { try named.bind(named: ["b": .integer(1)]) }
        #expect(unknown?.message.contains("$b") == true)
    }

    @Test func bindsValuesThatDuckDBCastsToTheParameterType() throws {
        let connection = try memoryConnection()
        try connection.execute("CREATE TABLE events (day DATE, amount DECIMAL(10,2), tags VARCHAR[])")
        try connection.query("INSERT INTO events VALUES ($1, $2, $3)", [
            .varchar("2024-02-29"), .double(12.5), .list([.varchar("a"), .null, .varchar("b")]),
        ])
        #expect(try connection.values("SELECT day::VARCHAR, amount::VARCHAR, tags::VARCHAR FROM events")
            == [[.varchar("2024-02-29"), .varchar("12.50"), .varchar("[a, NULL, b]")]])
    }

    @Test func transactionRollsBackWhenTheBodyThrows() throws {
        struct Failure: Error {}
        let connection = try memoryConnection()
        try connection.execute("CREATE TABLE t (i INTEGER)")
        #expect(throws: Failure.self) {
            try connection.transaction {
                try connection.execute("INSERT INTO t VALUES (1)")
                throw Failure()
            }
        }
        #expect(try connection.single("SELECT count(*) FROM t") == .bigint(0))
        try connection.transaction { try connection.execute("INSERT INTO t VALUES (2)") }
        #expect(try connection.single("SELECT count(*) FROM t") == .bigint(1))
    }
}

@Suite struct QueryResultTests {
    @Test func fetchingPastTheEndKeepsReturningNil() throws {
        let connection = try memoryConnection()
        for streaming in [true, false] {
            let result = try connection.prepare("SELECT range FROM range(3000)").execute(streaming: streaming)
            var rows = 0
            while let chunk = try result.nextChunk() { rows += chunk.count }
            #expect(rows == 3000)
            #expect(try result.nextChunk() == nil)
            #expect(try result.nextChunk() == nil)
        }
    }
}
