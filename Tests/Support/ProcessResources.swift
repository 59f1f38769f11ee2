import Foundation

/// What this process holds open, read from `/proc/self`.
public enum ProcessResources {
    /// The targets of this process's open file descriptors that start with `path` (a file
    /// deleted while open shows as `path (deleted)`).
    public static func openFiles(startingWith path: String) -> [String] {
        let directory = "/proc/self/fd"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return entries.compactMap { entry in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: directory + "/" + entry)).flatMap { $0.hasPrefix(path) ? $0 : nil }
        }
    }

    /// This process's resident set size in bytes (`VmRSS` of `/proc/self/status`).
    public static var residentBytes: Int64 {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Int64(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kilobytes * 1024
    }
}
