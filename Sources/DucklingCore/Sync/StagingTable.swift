/// The names of the tables a sync run loads in schema `main` before it applies them to a live
/// table. They are committed while they load, read by nothing else, and dropped by the run, or by
/// the next read-write open of the file when the process died first.
enum StagingTable {
    /// A full rebuild's new copy of `table`.
    static func full(_ table: String) -> String { "_duckling_staging_\(table)" }

    /// An incremental run's changed rows of `table`.
    static func delta(_ table: String) -> String { "_duckling_delta_\(table)" }

    /// With `primary_key_diff`: every key of `table` at the source.
    static func keys(_ table: String) -> String { "_duckling_keys_\(table)" }

    /// Every staging table a run of `table` may create.
    static func all(of table: String) -> [String] { [full(table), delta(table), keys(table)] }

    /// Whether `name` is the staging table of some table.
    static func isStaging(_ name: String) -> Bool {
        all(of: "").contains { name.hasPrefix($0) }
    }
}
