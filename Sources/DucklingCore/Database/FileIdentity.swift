import Foundation

/// A file's device and inode: the same path with another identity is another file (deleted and
/// recreated, or swapped in by someone else).
struct FileIdentity: Sendable, Equatable {
    let device: UInt64
    let inode: UInt64

    /// The identity of what is at `path` now, or nil when nothing is.
    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }
}
