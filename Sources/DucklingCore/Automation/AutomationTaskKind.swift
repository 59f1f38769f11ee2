/// The scheduled tasks of a database's automation (DESIGN.md §8).
public enum AutomationTaskKind: String, Sendable, Codable, CaseIterable {
    case sync
    case backup
    case s3Backup = "s3_backup"
    case cleanup
    case health
}
