// The parts of the backup benchmark the `duckling` CLI does not run on their own:
//   BackupBenchmark create-db PATH MEGABYTES   a database of about that size, of incompressible data
//   BackupBenchmark upload CONFIG              encrypt and upload the newest local backup; prints the key
import DuckDBKit
import DucklingCore
import Foundation
import Logging
import ObjectStorage

let arguments = CommandLine.arguments
guard arguments.count == 3 || arguments.count == 4 else {
    FileHandle.standardError.write(Data("usage: BackupBenchmark create-db PATH MEGABYTES | upload CONFIG\n".utf8))
    exit(2)
}

switch arguments[1] {
case "create-db":
    guard arguments.count == 4, let megabytes = Int(arguments[3]) else { exit(2) }
    // Three 8-byte columns of random values (about 15 bytes a row once stored): the file does not compress away.
    let rows = megabytes * 1_048_576 / 15
    let database = try Database(path: arguments[2])
    try database.connect().execute("""
        CREATE TABLE facts AS SELECT range AS id, hash(range) AS h, random() AS r FROM range(\(rows));
        CHECKPOINT;
        """)
    print(rows)
case "upload":
    let configuration = try ConfigurationLoader(environment: ProcessInfo.processInfo.environment,
                                                workingDirectory: FileManager.default.currentDirectoryPath)
        .load(file: arguments[2], overrides: .init())
    var logger = Logger(label: "backup-bench")
    logger.logLevel = .warning
    let registry = DatabaseRegistry(configuration: configuration, logger: logger)
    try await registry.openAll()
    guard let database = registry.database("default") else { exit(1) }
    let service = try BackupService(database: database, sync: nil, httpClient: S3Store.sharedClient, logger: logger)
    print(try await service.uploadLatestLocal())
    await registry.closeAll()
default:
    exit(2)
}
