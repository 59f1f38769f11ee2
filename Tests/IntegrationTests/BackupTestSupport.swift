import DuckDBKit
@testable import DucklingCore
import DucklingTestSupport
import Foundation
import ObjectStorage

/// A PostgreSQL table synced incrementally into Duckling, so backups hold real data and watermarks.
struct BackupFixture {
    let table: String
    static let key = Data((0..<32).map { UInt8($0 * 7 % 256) }).base64EncodedString()

    init(rows: Int) throws {
        table = SyncFixture.uniqueName("backed")
        try TestEnvironment.psql("""
            CREATE TABLE \(table) (id int PRIMARY KEY, amount int, note text, updated_at timestamptz NOT NULL);
            INSERT INTO \(table) SELECT g, g % 1000, md5(g::text), '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 second'
              FROM generate_series(1, \(rows)) g;
            """)
    }

    func drop() {
        _ = try? TestEnvironment.psql("DROP TABLE \(table)")
    }

    /// Adds `count` rows after the current ones at the source.
    func insert(_ count: Int) throws {
        try TestEnvironment.psql("""
            INSERT INTO \(table) SELECT g, g % 1000, md5(g::text), '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 second'
              FROM generate_series((SELECT max(id) + 1 FROM \(table)), (SELECT max(id) + \(count) FROM \(table))) g;
            """)
    }

    /// duckling.yaml: the dataset `orders` from PostgreSQL, local backups, and S3 when `bucket` is given.
    func yaml(bucket: String? = nil, endpoint: String? = nil, prefix: String = "duckling", extraS3: String = "", extraBackup: String = "") throws -> String {
        var backup = "backup:\n      keep_last: 3\n"
        if !extraBackup.isEmpty { backup += "      \(extraBackup)\n" }
        if let bucket {
            backup += """
                  s3:
                    bucket_url: s3://\(bucket)/\(prefix)
                    endpoint: \(try endpoint ?? S3Test.endpoint)
                    path_style: true
                    encryption: client-aes256
                    access_key: test-access
                    secret_key: test-secret
                    \(extraS3)

            """
        }
        return """
            databases:
              default:
                sources:
                  pg: { url: "\(try TestEnvironment.postgresURL)" }
                datasets:
                  orders: { source: pg, table: public.\(table), primary_key: [id], incremental_column: updated_at }
                \(backup)
            """
    }

    static func environment(key: String = BackupFixture.key) -> [String: String] {
        SyncFixture.manual.merging(["DUCKLING_BACKUP_KEY": key]) { $1 }
    }

    /// Row count, a checksum of every row, and the dataset's watermark, as the served copy has them.
    struct State: Equatable {
        let rows: Int64
        let checksum: String
        let watermark: String?
    }

    static func state(_ server: TestServer) async throws -> State {
        let rows = try await SyncFixture.copyRows(server, "SELECT count(*), sum(hash(id, amount, note, updated_at))::VARCHAR FROM orders")
        let watermark = try await SyncFixture.copyRows(server, "SELECT max(value) FROM _duckling.sync_watermarks WHERE dataset = 'orders'")
        guard case .bigint(let count)? = rows.first?.first else { throw TestFailure("no count") }
        return State(rows: count, checksum: rows.first?[1].text ?? "", watermark: watermark.first?.first?.text)
    }

    static func backups(_ server: TestServer) async throws -> [[String: Any]] {
        let reply = try await server.request(.GET, "/api/backups")
        guard reply.status == 200, let backups = try reply.json["backups"] as? [[String: Any]] else {
            throw TestFailure("GET /api/backups: \(reply.status) \(reply.text)")
        }
        return backups
    }

    static func localBackupDirectory(_ server: TestServer, _ name: String) -> URL {
        URL(fileURLWithPath: server.dataDirectory).appendingPathComponent("backups").appendingPathComponent(name)
    }
}
