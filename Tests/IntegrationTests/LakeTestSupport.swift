import AsyncHTTPClient
import DuckDBKit
import DucklingTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// Where a test's lake keeps its catalog and data files: the local default, data files in moto
/// S3, or the catalog in the tests' PostgreSQL (with data in S3, as several processes share it).
enum LakeVariant: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case local, s3Data, postgresCatalog

    var testDescription: String { rawValue }

    /// The `lake:` section for this variant (a fresh S3 bucket and PostgreSQL schema each time).
    func yaml(extra: String = "") async throws -> String {
        switch self {
        case .local:
            return "lake:\n" + extra
        case .s3Data:
            let bucket = try await S3Test.makeBucket()
            return """
                lake:
                  data_path: s3://\(bucket)/lake
                  datasets: s3://\(bucket)/datasets
                \(LakeFixture.s3Block)
                \(extra)
                """
        case .postgresCatalog:
            let bucket = try await S3Test.makeBucket()
            return """
                lake:
                  catalog: \(try TestEnvironment.postgresURL)
                  metadata_schema: \(LakeFixture.uniqueSchema())
                  data_path: s3://\(bucket)/lake
                \(LakeFixture.s3Block)
                \(extra)
                """
        }
    }
}

enum LakeFixture {
    static var s3Block: String {
        """
          s3:
            endpoint: \((try? S3Test.endpoint) ?? "")
            region: us-east-1
            access_key: test
            secret_key: test
            path_style: true
        """
    }

    static func uniqueSchema() -> String { "lake_\(UUID().uuidString.prefix(8).lowercased())" }

    /// Every type DuckLake stores, with an expression that makes row `i`'s value; all of them
    /// read back identically from JSON, NDJSON, CSV and Parquet (VARIANT cannot be read from JSON).
    static let allTypes: [(name: String, type: String, value: String)] = [
        ("b", "BOOLEAN", "i % 2 = 0"), ("ti", "TINYINT", "i % 100"), ("si", "SMALLINT", "i % 30000"), ("ii", "INTEGER", "i"),
        ("bi", "BIGINT", "i * 1000000007"), ("hi", "HUGEINT", "i::HUGEINT * 1000000000000"), ("uti", "UTINYINT", "i % 200"),
        ("usi", "USMALLINT", "i % 60000"), ("ui", "UINTEGER", "i * 3"), ("ubi", "UBIGINT", "i * 99999999"),
        ("uhi", "UHUGEINT", "i::UHUGEINT * 1000000000000"), ("f", "FLOAT", "i / 8"), ("d", "DOUBLE", "i / 3"),
        ("dec", "DECIMAL(18,3)", "i / 1000"), ("dec2", "DECIMAL(38,10)", "i::DECIMAL(38,10) / 7"),
        ("dt", "DATE", "DATE '2020-01-01' + i::INTEGER"), ("tm", "TIME", "TIME '00:00:00' + to_seconds(i % 86400)"),
        ("ttz", "TIMETZ", "(TIME '01:02:03' + to_seconds(i % 3600))::TIMETZ"),
        ("ts", "TIMESTAMP", "TIMESTAMP '2024-01-01' + to_microseconds(i * 1000003)"),
        ("tstz", "TIMESTAMPTZ", "TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(i)"),
        ("ts_s", "TIMESTAMP_S", "TIMESTAMP '2024-01-01' + to_seconds(i)"),
        ("ts_ms", "TIMESTAMP_MS", "TIMESTAMP '2024-01-01' + to_milliseconds(i)"),
        ("ts_ns", "TIMESTAMP_NS", "TIMESTAMP '2024-01-01' + to_microseconds(i)"),
        ("iv", "INTERVAL", "to_days((i % 40)::INTEGER) + to_seconds(i % 100)"),
        ("v", "VARCHAR", "CASE WHEN i % 50 = 0 THEN 'quote \" comma, ' || i WHEN i % 7 = 0 THEN NULL ELSE 'row ' || i END"),
        ("bl", "BLOB", "('blob' || i)::BLOB"), ("u", "UUID", "md5(i::VARCHAR)::UUID"), ("j", "JSON", "json_object('i', i, 's', 'x' || i)"),
        ("li", "INTEGER[]", "[i::INTEGER, (i + 1)::INTEGER]"), ("lv", "VARCHAR[]", "['a' || i, 'b']"),
        ("st", "STRUCT(a INTEGER, b VARCHAR)", "{'a': i::INTEGER, 'b': 'v' || i}"), ("m", "MAP(VARCHAR, INTEGER)", "MAP {'k' || i: i::INTEGER}"),
        ("g", "GEOMETRY", "'POINT (' || i || ' ' || (i + 1) || ')'"),
    ]

    /// The `columns` of `POST /tables` for ``allTypes`` (`ii` not null).
    static var allTypeColumns: [[String: Any]] {
        allTypes.map { ["name": $0.name, "type": $0.type, "nullable": $0.name != "ii"] }
    }

    /// Writes `rows` rows of ``allTypes`` (or `select`) as data.json (array), data.ndjson,
    /// data.csv and data.parquet under `directory`, with DuckDB itself.
    static func writeFiles(rows: Int, to directory: String, select: String? = nil) throws -> [String: URL] {
        let database = try Database(path: nil)
        defer { database.close() }
        let connection = try database.connect()
        defer { connection.close() }
        let projection = select ?? allTypes.map { "(\($0.value))::\($0.type) AS \($0.name)" }.joined(separator: ", ")
        try connection.execute("CREATE TABLE source AS SELECT \(projection) FROM range(\(rows)) r(i)")
        var files: [String: URL] = [:]
        for (format, options) in [("json", "FORMAT json, ARRAY true"), ("ndjson", "FORMAT json"), ("csv", "FORMAT csv, HEADER"), ("parquet", "FORMAT parquet")] {
            let path = directory + "/data." + format
            try connection.execute("COPY source TO '\(path)' (\(options))")
            files[format] = URL(fileURLWithPath: path)
        }
        return files
    }

    /// Writes the rows of `select` over `range(rows) r(i)` as a CSV file with a header.
    static func writeCSV(to path: String, rows: Int, select: String) throws {
        let database = try Database(path: nil)
        defer { database.close() }
        let connection = try database.connect()
        defer { connection.close() }
        try connection.execute("COPY (SELECT \(select) FROM range(\(rows)) r(i)) TO '\(path)' (FORMAT csv, HEADER)")
    }

    static let contentTypes = ["json": "application/json", "ndjson": "application/x-ndjson", "csv": "text/csv", "parquet": "application/vnd.apache.parquet"]
}

extension TestServer {
    /// A request whose body is the file at `file` (streamed) or `data`, with `contentType`.
    func send(_ method: HTTPMethod, _ path: String, key: Key = .admin, contentType: String, file: URL? = nil, data: Data? = nil,
              headers: [(String, String)] = []) async throws -> Reply {
        var body: HTTPClientRequest.Body?
        if let file {
            let size = try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int ?? 0
            body = .stream(FileChunks(url: file), length: .known(Int64(size)))
        } else if let data {
            body = .bytes(ByteBuffer(bytes: data))
        }
        return try await send(method, path, key: key, headers: headers, contentType: contentType, body: body)
    }

    /// `POST` with a JSON body (any JSON value).
    func json(_ method: HTTPMethod, _ path: String, _ value: Any, key: Key = .admin) async throws -> Reply {
        try await send(method, path, key: key, contentType: "application/json", data: try JSONSerialization.data(withJSONObject: value))
    }

    /// The rows of `sql` over the lake.
    func lakeRows(_ sql: String) async throws -> [[Any]] {
        try await rows(sql, db: "lake")
    }

    /// A lake table as `GET /tables/{name}` describes it.
    func lakeTable(_ name: String) async throws -> [String: Any] {
        let reply = try await request(.GET, "/tables/\(name)")
        guard reply.status == 200, let table = try reply.json["table"] as? [String: Any] else {
            throw TestFailure("GET /tables/\(name) failed (\(reply.status)): \(reply.text)")
        }
        return table
    }
}

/// A file read in 256 KiB chunks, as a request body.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let url: URL

    struct AsyncIterator: AsyncIteratorProtocol {
        let handle: FileHandle?

        mutating func next() async throws -> ByteBuffer? {
            guard let data = try handle?.read(upToCount: 256 << 10), !data.isEmpty else {
                try? handle?.close()
                return nil
            }
            return ByteBuffer(bytes: data)
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(handle: try? FileHandle(forReadingFrom: url))
    }
}
