import DuckDBKit
import Testing

/// Random values of each scalar type, rendered by DuckDBKit and by DuckDB's own cast.
@Suite struct TextRenderingTests {
    private func compare(_ expression: String, rows: Int = 2000) throws {
        let connection = try memoryConnection()
        let pairs = try connection.values(
            "SELECT v, CAST(v AS VARCHAR) FROM (SELECT \(expression) AS v FROM range(\(rows)) t(i))")
        var mismatches: [String] = []
        for pair in pairs {
            let expected: String? = if case .varchar(let text) = pair[1] { text } else { nil }
            if pair[0].text != expected { mismatches.append("\(pair[0]) → \(pair[0].text ?? "NULL") ≠ \(expected ?? "NULL")") }
        }
        #expect(mismatches.isEmpty, "\(expression): \(mismatches.prefix(5))")
    }

    @Test func dates() throws {
        try compare("DATE '1970-01-01' + ((hash(i) % 4000000)::INTEGER - 2000000)")
        try compare("DATE '0001-01-01' - (i * 37)::INTEGER")
    }

    @Test func timestamps() throws {
        try compare("make_timestamp((hash(i) % 400000000000000)::BIGINT - 200000000000000)")
        try compare("make_timestamp((hash(i) % 1000000000)::BIGINT * 1000000)")
        try compare("CAST(make_timestamp((hash(i) % 400000000000000)::BIGINT) AS TIMESTAMP_S)")
        try compare("CAST(make_timestamp((hash(i) % 400000000000000)::BIGINT) AS TIMESTAMP_MS)")
        try compare("make_timestamp_ns((hash(i) % 4000000000000000000)::BIGINT)")
        try compare("make_timestamp_ns(i * 500)")
        try compare("make_timestamp((hash(i) % 400000000000000)::BIGINT - 200000000000000)::TIMESTAMPTZ")
    }

    @Test func times() throws {
        try compare("make_time(0, 0, 0) + to_microseconds((hash(i) % 86400000000)::BIGINT)")
        try compare("CAST(CAST(make_time(0, 0, 0) + to_microseconds((hash(i) % 86400000000)::BIGINT) AS VARCHAR) || lpad((i % 1000)::VARCHAR, 3, '0') AS TIME_NS)")
        try compare("CAST(CAST(make_time(0, 0, 0) + to_microseconds((hash(i) % 86400000000)::BIGINT) AS VARCHAR) || (['+', '-'][i % 2 + 1]) || lpad(((i * 7) % 16)::VARCHAR, 2, '0') || ':' || lpad(((i * 13) % 60)::VARCHAR, 2, '0') AS TIMETZ)")
    }

    @Test func intervals() throws {
        try compare("to_months((hash(i) % 2000)::INTEGER - 1000) + to_days((hash(i * 3) % 2000)::INTEGER - 1000) + to_microseconds((hash(i * 7) % 100000000000)::BIGINT - 50000000000)")
        try compare("to_microseconds(i)")
        try compare("to_days(i % 3) + to_months(i % 5)")
    }

    @Test func decimalsAndWideIntegers() throws {
        try compare("((hash(i) % 100000)::INTEGER - 50000)::DECIMAL(9,4) / 7")
        try compare("CAST((hash(i) // 2)::HUGEINT * (hash(i * 5) % 100000000)::HUGEINT * (CASE WHEN i % 2 = 0 THEN 1 ELSE -1 END) AS DECIMAL(38,10)) / 1000")
        try compare("(hash(i) // 2)::HUGEINT * (hash(i + 1) // 2)::HUGEINT * -1")
        try compare("hash(i)::UHUGEINT * hash(i + 1)::UHUGEINT")
        try compare("((hash(i) // 2)::HUGEINT * (hash(i + 2) // 2)::HUGEINT * (CASE WHEN i % 2 = 0 THEN 1 ELSE -1 END))::BIGNUM * 1000000000000::BIGNUM")
        try compare("((i % 3) - 1)::BIGNUM")
    }

    @Test func floatingPoint() throws {
        try compare("(hash(i) % 1000000)::DOUBLE / 1024.0 - 400.0")
        try compare("(hash(i) % 1000000)::FLOAT / 3.0")
    }

    @Test func textBlobsBitsUUIDsAndEnums() throws {
        try compare("CAST(md5(i::VARCHAR) AS UUID)")
        try compare("gen_random_uuid()")
        try compare("from_hex(md5(i::VARCHAR)[:(i % 16 + 2)::INTEGER])")
        try compare("CAST(bin(i + 1) AS BIT)")
        try compare("CAST(['duck', 'goose', 'swan'][i % 3 + 1] AS ENUM('duck', 'goose', 'swan'))")
        try compare("chr((i % 300 + 1)::INTEGER) || 'x'")
    }

    @Test func nestedValuesQuoteLikeDuckDB() throws {
        try compare("[NULL, 'a b', '', ' lead', 'trail ', 'null', 'NULL', 'it''s', 'back\\slash', 'x,y', '{', '[1]', 'k=v', 'a:b', 'plain'][i % 15 + 1:i % 15 + 2]", rows: 30)
        try compare("{'k': i, 'name with space': 'v' || i, 'null': NULL}", rows: 30)
        try compare("MAP {'a b': [i, NULL], 'c': []}", rows: 30)
        try compare("[DATE '2020-01-01' + i::INTEGER, NULL]", rows: 30)
        try compare("[make_timestamp(i * 1000000000)]", rows: 30)
        try compare("[{'x': [1, 2], 'y': MAP {1: 'one'}}]", rows: 30)
        try compare("union_value(num := i)::UNION(num BIGINT, txt VARCHAR)", rows: 30)
        try compare("[union_value(txt := 'a,b')::UNION(num BIGINT, txt VARCHAR)]", rows: 30)
        try compare("[interval 1 day * i, NULL]", rows: 30)
        try compare("[[1.5, NULL]::DECIMAL(4,2)[], NULL]", rows: 30)
        try compare("array_value(i, i + 1, NULL::INTEGER)", rows: 30)
    }

    @Test func geometries() throws {
        try compare("CAST(['POINT (1.5 -2)', 'POINT EMPTY', 'LINESTRING (0 0, 1 1.25)', 'POLYGON ((0 0, 0 1, 1 1, 1 0, 0 0), (0.2 0.2, 0.2 0.4, 0.4 0.4, 0.2 0.2))', 'MULTIPOINT (1 2, EMPTY)', 'MULTIPOLYGON EMPTY', 'GEOMETRYCOLLECTION (POINT (5 6), LINESTRING EMPTY)', 'POINT Z (1 2 3)', 'LINESTRING M (1 2 3, 4 5 6)', 'POINT ZM (1 2 3 4)', 'POINT (100000000000000000000 0.000001)'][i % 11 + 1] AS GEOMETRY)", rows: 11)
    }
}
