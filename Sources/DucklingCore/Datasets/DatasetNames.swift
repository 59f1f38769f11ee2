import ObjectStorage
/// Bucket names by S3's rules, and object keys that cannot leave their bucket.
enum DatasetNames {
    static func checkBucket(_ name: String) throws {
        guard Names.isValidBucket(name) else {
            throw LakeError.invalid("invalid_bucket", "'\(name.prefix(80))' is not a valid bucket name: 3–63 lower-case letters, digits, . and -, starting and ending with a letter or digit")
        }
    }

    /// A relative key of printable ASCII (no spaces, `\`, NUL or control characters) whose
    /// `/`-separated parts are neither empty nor start with `.` (so no `.`, `..` or hidden names).
    static func checkKey(_ key: String) throws {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard ObjectKey.isValid(key), key.utf8.count <= 900, parts.allSatisfy({ !$0.hasPrefix(".") }) else {
            throw LakeError.invalid("invalid_object_key", "'\(key.prefix(80))' is not a valid object key: relative, printable ASCII without spaces or \\, no empty parts and none starting with .")
        }
    }
}
