import ArgumentParser
import DuckDBKit
import DucklingHTTP

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the Duckling and DuckDB versions.")

    func run() {
        print("duckling \(DucklingVersion.current)")
        print("duckdb \(Database.libraryVersion)")
    }
}
