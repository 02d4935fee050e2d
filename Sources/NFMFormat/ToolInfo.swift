/// The tool's name and version, recorded in manifests and checkpoints.
public enum ToolInfo {
    /// The package's version (semantic versioning).
    public static let version = "0.1.0"
    /// `"nfm <version>"`, the `tool` value of manifests, checkpoints, exports and summaries.
    public static let name = "nfm \(version)"
}
