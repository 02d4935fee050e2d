/// The tool's name and version, recorded in manifests and checkpoints.
public enum ToolInfo {
    public static let version = "0.1.0"
    public static let name = "nfm \(version)"
}
