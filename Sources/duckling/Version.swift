import ArgumentParser
import DuckDBKit
import DucklingHTTP

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the Duckling and DuckDB versions, and where DuckDB was loaded from.")

    func run() {
        print("duckling \(DucklingVersion.current)")
        print("duckdb \(Database.libraryVersion)")
        print("extensions \(Database.installedExtensionDirectory ?? "(libduckdb.so not found)")")
    }
}
