/// This build's version.
public enum DucklingVersion {
    public static let current = "0.1.0"
}
