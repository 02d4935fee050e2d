import Foundation
import NFMFormat

/// Converts between shard datasets and libFM text (`label index:value …`, one instance per line), the
/// format of libFM, xLearn and the NFM authors' code.
///
/// Export writes `train.libfm`, `validation.libfm`, `test.libfm` in stored order, indices in field
/// order, labels and values in shortest round-trip form (`1`, `-1`, `0.5`).
/// Import keeps the files' split and order. When every row has the same number of entries, every value
/// is 1 and each entry position holds indices in its own increasing range, the rows are one-hot fields
/// and the import uses the fixed layout (fields `field0…`, offsets from those ranges); otherwise the
/// sparse layout with values. Limits are those of `LibFMLine` (indices, entries, line length).
public enum LibFMConverter {
    /// `SPLIT.libfm`.
    public static func fileName(_ split: Split) -> String { split.rawValue + ".libfm" }

    /// One written file of an export.
    public struct ExportedFile: Sendable, Codable, Equatable {
        /// The split written.
        public let split: Split
        /// Where it was written.
        public let path: String
        /// Lines (instances) written.
        public let rows: Int
        /// Size of the file.
        public let bytes: Int
    }

    /// Writes the dataset's splits as libFM text into `outputDirectory`, claimed as an nfm `.libfm`
    /// output (absent or empty, or with `force` an earlier export; never the dataset itself) once every
    /// shard matches the manifest's SHA-256; each is checked again as it is decoded.
    @discardableResult
    public static func export(datasetDirectory: String, to outputDirectory: String, force: Bool = false) throws
        -> [ExportedFile]
    {
        let (manifest, _) = try DatasetManifest.load(directory: datasetDirectory)
        for shard in manifest.shards {  // validate every input before the output is claimed
            _ = try manifest.readShard(shard, in: datasetDirectory)
        }
        let directory = try OutputDirectory.claim(
            outputDirectory, kind: .libfm, force: force, inputs: [datasetDirectory])
        do {
            var files: [ExportedFile] = []
            for split in Split.allCases {
                files.append(try export(manifest, split: split, from: datasetDirectory, to: outputDirectory))
            }
            directory.commit()
            return files
        } catch {
            directory.abandon()
            throw error
        }
    }

    private static func export(
        _ manifest: DatasetManifest, split: Split, from datasetDirectory: String, to outputDirectory: String
    ) throws -> ExportedFile {
        let path = outputDirectory + "/" + fileName(split)
        let temporary = path + ".partial"
        let file = try WritableFile(path: temporary)
        var text = [UInt8]()
        text.reserveCapacity(1 << 20)
        var rows = 0
        var bytes = 0
        for shard in manifest.shards(in: split) {
            let block = try manifest.readShard(shard, in: datasetDirectory)
            for row in 0..<block.rowCount {
                appendLine(of: block, row: row, to: &text)
                if text.count >= 1 << 20 {
                    try file.write(text)
                    bytes += text.count
                    text.removeAll(keepingCapacity: true)
                }
            }
            rows += block.rowCount
        }
        try file.write(text)
        bytes += text.count
        try file.close(sync: true)
        try FileSystem.rename(temporary, to: path)
        return ExportedFile(split: split, path: path, rows: rows, bytes: bytes)
    }

    private static func appendLine(of block: ShardBlock, row: Int, to text: inout [UInt8]) {
        text += Array(format(block.labels[row]).utf8)
        let (indices, values) = block.features(ofRow: row)
        for (k, index) in indices.enumerated() {
            text.append(32)
            text += Array(String(index).utf8)
            text.append(58)
            if let values {
                text += Array(format(values[values.startIndex + k]).utf8)
            } else {
                text.append(49)
            }
        }
        text.append(10)
    }

    /// Shortest text that parses back to the same `Float`; integral values without a fraction.
    static func format(_ value: Float) -> String {
        if value == value.rounded(), abs(value) < 1e9 { return String(Int(value)) }
        return "\(value)"
    }
}
