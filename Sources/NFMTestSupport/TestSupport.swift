import Foundation
import NFMFormat
import NFMPipeline

/// Helpers shared by the test targets: scratch directories, fixture paths, and small dataset builds.
public enum TestSupport {
    /// The package root (found from this file's location).
    public static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    public static func fixture(_ name: String) -> String { packageRoot + "/fixtures/" + name }
    public static func pipeline(_ name: String) -> String { packageRoot + "/pipelines/" + name }

    /// The real Frappe log when `../shared` is present beside the package, else nil (tests skip).
    public static var realFrappe: String? {
        let path = URL(fileURLWithPath: packageRoot).deletingLastPathComponent().path
            + "/shared/datasets/frappe/frappe.csv"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// The `nfm` executable built beside the test bundle, if any.
    public static var nfmExecutable: String? {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [directory, directory.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("nfm").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// A fresh, empty directory under the system temporary directory.
    public static func temporaryDirectory(_ label: String = "nfm-test") -> String {
        let path = NSTemporaryDirectory() + "/\(label)-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Writes `text` to a new file in `directory` and returns its path.
    public static func write(_ text: String, named name: String, in directory: String) -> String {
        let path = directory + "/" + name
        try! Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    public static func writeBytes(_ bytes: [UInt8], named name: String, in directory: String) -> String {
        let path = directory + "/" + name
        try! Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Builds `input` with a definition from `pipelines/` into a fresh directory.
    public static func build(
        definition: String, input: String, seed: UInt64? = nil, configure: (inout DatasetBuilder.Options) -> Void = { _ in }
    ) throws -> (directory: String, manifest: DatasetManifest) {
        let out = temporaryDirectory("dataset") + "/out"
        var options = DatasetBuilder.Options(
            definition: try DatasetDefinition.load(path: pipeline(definition)), inputPath: input, outputDirectory: out)
        options.seed = seed
        configure(&options)
        let manifest = try DatasetBuilder.build(options)
        return (out, manifest)
    }

    /// Every file under `directory` with its bytes, for byte-for-byte comparisons.
    public static func snapshot(_ directory: String) -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for path in FileSystem.relativeFiles(under: directory) {
            files[path] = try? ReadableFile.readAll(directory + "/" + path)
        }
        return files
    }

    /// All instances of one split, decoded, in stored order.
    public static func instances(_ directory: String, _ manifest: DatasetManifest, _ split: Split) throws -> ShardBlock {
        var all: ShardBlock? = nil
        for shard in manifest.shards(in: split) {
            let block = try ShardCodec.read(path: directory + "/" + shard.file)
            if all == nil {
                all = block
            } else {
                all!.labels += block.labels
                if block.layout == .fixed {
                    all!.indices += block.indices
                } else {
                    let base = all!.rowOffsets.last!
                    all!.rowOffsets += block.rowOffsets.dropFirst().map { $0 + base }
                    all!.indices += block.indices
                    all!.values += block.values
                }
            }
        }
        return all ?? (manifest.layout == .fixed ? ShardBlock(fieldCount: manifest.fields.count) : ShardBlock())
    }
}
