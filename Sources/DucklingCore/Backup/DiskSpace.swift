import Foundation

/// Free space checks before writing large files, so a full disk is a clear refusal up front.
enum DiskSpace {
    /// Headroom kept free beyond what a step needs.
    static let margin: Int64 = 64 << 20

    static func available(at directory: URL) -> Int64? {
        var info = statvfs()
        guard statvfs(directory.path, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    /// The size of the file system holding `directory`, for a share of it free.
    static func total(at directory: URL) -> Int64? {
        var info = statvfs()
        guard statvfs(directory.path, &info) == 0 else { return nil }
        return Int64(info.f_blocks) * Int64(info.f_frsize)
    }

    static func require(_ bytes: Int64, at directory: URL, for purpose: String) throws {
        guard let free = available(at: directory) else { return }
        guard free >= bytes + margin else {
            throw BackupError(.noSpace, "not enough disk space for \(purpose) in \(directory.path): needs \(megabytes(bytes + margin)), \(megabytes(free)) free")
        }
    }

    static func megabytes(_ bytes: Int64) -> String {
        String(format: "%.1f MB", Double(bytes) / 1_048_576)
    }
}
