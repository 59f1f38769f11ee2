// The parts of the lake benchmark that run in DuckDB directly, the reference for Duckling's API:
//   LakeBenchmark generate DIR MEGABYTES        DIR/data.csv of about that size, and DIR/data.parquet of the same rows
//   LakeBenchmark append DIR FILE FORMAT        DuckDB's own INSERT INTO lake.t SELECT * FROM read_csv/read_parquet(FILE)
//                                               into a fresh local lake under DIR; prints seconds, rows and the snapshot
//   LakeBenchmark query DIR SNAPSHOT RUNS       the benchmark's snapshot query in DuckDB on that lake; prints the median seconds
import DuckDBKit
import Foundation

let arguments = CommandLine.arguments
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(2)
}
guard arguments.count >= 4 else { fail("usage: LakeBenchmark generate DIR MEGABYTES | append DIR FILE FORMAT | query DIR SNAPSHOT RUNS") }

/// The benchmark's table: an order line of about 100 bytes as CSV.
let columns = "id BIGINT, customer VARCHAR, amount DOUBLE, quantity INTEGER, day DATE, note VARCHAR"
let snapshotQuery = "SELECT day, count(*) AS orders, sum(amount) AS revenue FROM lake.t AT (VERSION => %@) WHERE quantity > 2 GROUP BY day ORDER BY day"

func lake(_ directory: String) throws -> (Database, Connection) {
    let database = try Database(path: nil, configuration: DatabaseConfiguration(extensionDirectory: Database.installedExtensionDirectory))
    let connection = try database.connect()
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try connection.execute("LOAD ducklake")
    try connection.execute("ATTACH 'ducklake:\(directory)/catalog.ducklake' AS lake (DATA_PATH '\(directory)/files/')")
    return (database, connection)
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

switch arguments[1] {
case "generate":
    guard let megabytes = Int(arguments[3]) else { fail("MEGABYTES must be a number") }
    let directory = arguments[2]
    let rows = megabytes * 1_048_576 / 100
    let database = try Database(path: nil)
    let connection = try database.connect()
    try connection.execute("""
        CREATE TABLE t AS SELECT i AS id, 'customer-' || (i % 50000) || '-' || md5(i::VARCHAR)[1:12] AS customer,
          round((i % 10000) / 7.0, 2) AS amount, (i % 9)::INTEGER AS quantity, DATE '2024-01-01' + (i % 365)::INTEGER AS day,
          'note ' || (i % 977) || ' for order ' || i AS note
        FROM range(\(rows)) r(i)
        """)
    try connection.execute("COPY t TO '\(directory)/data.csv' (FORMAT csv, HEADER)")
    try connection.execute("COPY t TO '\(directory)/data.parquet' (FORMAT parquet)")
    print(rows)
case "append":
    guard arguments.count == 5 else { fail("usage: LakeBenchmark append DIR FILE FORMAT") }
    let (database, connection) = try lake(arguments[2])
    try connection.execute("CREATE TABLE lake.t (\(columns))")
    let reader = arguments[4] == "csv" ? "read_csv('\(arguments[3])', header = true)" : "read_parquet('\(arguments[3])')"
    var rows: Int64 = 0
    let elapsed = try seconds {
        if case .bigint(let count)? = try connection.query("INSERT INTO lake.t SELECT * FROM \(reader)").scalar() { rows = count }
    }
    let snapshot = try connection.query("SELECT id FROM ducklake_current_snapshot('lake')").scalar()?.text ?? "?"
    print(String(format: "%.3f", elapsed), rows, snapshot)
    connection.close()
    database.close()
case "query":
    guard arguments.count == 5, let runs = Int(arguments[4]) else { fail("usage: LakeBenchmark query DIR SNAPSHOT RUNS") }
    let (database, connection) = try lake(arguments[2])
    let sql = String(format: snapshotQuery, arguments[3])
    var times: [Double] = []
    for _ in 0..<runs {
        times.append(try seconds { _ = try connection.query(sql).rows() })
    }
    print(String(format: "%.4f", times.sorted()[times.count / 2]))
    connection.close()
    database.close()
default:
    fail("unknown command \(arguments[1])")
}
