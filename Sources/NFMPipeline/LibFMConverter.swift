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
/// sparse layout with values.
public enum LibFMConverter {
    public static func fileName(_ split: Split) -> String { split.rawValue + ".libfm" }

    public static func export(datasetDirectory: String, to outputDirectory: String) throws {
        let (manifest, _) = try DatasetManifest.load(directory: datasetDirectory)
        try FileSystem.createDirectory(outputDirectory)
        for split in Split.allCases {
            let path = outputDirectory + "/" + fileName(split)
            let temporary = path + ".partial"
            let file = try WritableFile(path: temporary)
            var line = [UInt8]()
            var text = [UInt8]()
            text.reserveCapacity(1 << 20)
            for shard in manifest.shards(in: split) {
                let block = try ShardCodec.read(path: datasetDirectory + "/" + shard.file)
                for row in 0..<block.rowCount {
                    line.removeAll(keepingCapacity: true)
                    line += Array(format(block.labels[row]).utf8)
                    let (indices, values) = block.features(ofRow: row)
                    for (k, index) in indices.enumerated() {
                        line.append(32)
                        line += Array(String(index).utf8)
                        line.append(58)
                        if let values {
                            line += Array(format(values[values.startIndex + k]).utf8)
                        } else {
                            line.append(49)
                        }
                    }
                    line.append(10)
                    text += line
                    if text.count >= 1 << 20 {
                        try file.write(text)
                        text.removeAll(keepingCapacity: true)
                    }
                }
            }
            try file.write(text)
            try file.close()
            try FileSystem.rename(temporary, to: path)
        }
    }

    /// Shortest text that parses back to the same `Float`; integral values without a fraction.
    static func format(_ value: Float) -> String {
        if value == value.rounded(), abs(value) < 1e9 { return String(Int(value)) }
        return "\(value)"
    }

    public struct ImportOptions {
        public var files: [Split: String]
        public var outputDirectory: String
        public var name = "libfm-import"
        public var rowsPerShard = 65536
        public var zstdLevel = 3
        public var threads = max(1, ProcessInfo.processInfo.activeProcessorCount)
        public var force = false
        public init(files: [Split: String], outputDirectory: String) {
            self.files = files
            self.outputDirectory = outputDirectory
        }
    }

    private struct Scan {
        var rows = 0
        var maxIndex: Int = -1
        var entriesPerRow: Int? = nil
        var uniform = true
        var allOnes = true
        var ranges: [(low: Int, high: Int)] = []
        var positive: Float = -.infinity
        var negative: Float = .infinity
        var positives = 0
    }

    @discardableResult
    public static func importFiles(_ options: ImportOptions) throws -> DatasetManifest {
        let out = options.outputDirectory
        guard let trainPath = options.files[.train] else {
            throw PipelineError(.usage, "import-libfm needs at least a train file")
        }
        _ = trainPath
        // Pass 1: shape and label range.
        var scan = Scan()
        for split in Split.allCases {
            guard let path = options.files[split] else { continue }
            try parse(path) { label, indices, values in
                scan.rows += 1
                scan.positive = max(scan.positive, label)
                scan.negative = min(scan.negative, label)
                if let count = scan.entriesPerRow, count != indices.count { scan.uniform = false }
                scan.entriesPerRow = scan.entriesPerRow ?? indices.count
                if values.contains(where: { $0 != 1 }) { scan.allOnes = false }
                for index in indices { scan.maxIndex = max(scan.maxIndex, Int(index)) }
                if scan.uniform {
                    if scan.ranges.isEmpty { scan.ranges = indices.map { (Int($0), Int($0)) } }
                    for (k, index) in indices.enumerated() {
                        scan.ranges[k].low = min(scan.ranges[k].low, Int(index))
                        scan.ranges[k].high = max(scan.ranges[k].high, Int(index))
                    }
                }
            }
        }
        guard scan.rows > 0 else { throw PipelineError(.input, "libFM files hold no rows") }
        for split in Split.allCases {
            if let path = options.files[split] {
                var positives = 0
                try parse(path) { label, _, _ in if label == scan.positive { positives += 1 } }
                scan.positives += positives
            }
        }
        let disjoint =
            !scan.ranges.isEmpty && zip(scan.ranges, scan.ranges.dropFirst()).allSatisfy { $0.high < $1.low }
        let fixed = scan.uniform && scan.allOnes && disjoint && (scan.entriesPerRow ?? 0) > 0
        let featureCount = scan.maxIndex + 1
        var fields: [DatasetManifest.Field] = []
        if fixed {
            for k in 0..<scan.ranges.count {
                let offset = k == 0 ? 0 : scan.ranges[k - 1].high + 1
                let end = k + 1 < scan.ranges.count ? scan.ranges[k].high + 1 : featureCount
                fields.append(.init(name: "field\(k)", offset: offset, cardinality: end - offset, vocabulary: ""))
            }
        }

        // Pass 2: write shards.
        try DatasetBuilder.prepareOutput(out, force: options.force)
        do {
            var shards: [DatasetManifest.Shard] = []
            var inputs: [DatasetManifest.Input] = []
            var counts = DatasetManifest.Counts()
            for split in Split.allCases {
                let writer = try ShardWriter(
                    directory: out, split: split, layout: fixed ? .fixed : .sparse,
                    fieldCount: fixed ? scan.ranges.count : 0, rowsPerShard: options.rowsPerShard,
                    level: options.zstdLevel, threads: options.threads)
                var rows = 0
                if let path = options.files[split] {
                    try parse(path) { label, indices, values in
                        rows += 1
                        if fixed {
                            try indices.withUnsafeBufferPointer { try writer.append(label: label, features: $0) }
                        } else {
                            try writer.append(label: label, indices: indices, values: values)
                        }
                    }
                    inputs.append(
                        .init(
                            name: (path as NSString).lastPathComponent, bytes: try FileSystem.fileSize(path),
                            sha256: try SHA256.hexDigest(ofFile: path)))
                }
                shards += try writer.finish()
                switch split {
                case .train: counts.train = rows
                case .validation: counts.validation = rows
                case .test: counts.test = rows
                }
            }
            counts.rowsRead = scan.rows
            counts.positives = scan.positives
            counts.negatives = scan.rows - scan.positives
            let manifest = DatasetManifest(
                tool: ToolInfo.name, name: options.name, definition: nil, seed: 0, negativeRule: nil,
                inputs: inputs, counts: counts, labels: .init(positive: scan.positive, negative: scan.negative),
                layout: fixed ? .fixed : .sparse, fields: fields, featureCount: featureCount, files: [],
                shards: shards)
            try manifest.write(to: out)
            return manifest
        } catch {
            FileSystem.remove(out)
            throw error
        }
    }

    /// Parses a libFM file line by line: `label idx:val …`, whitespace-separated.
    static func parse(_ path: String, _ body: (Float, [UInt32], [Float]) throws -> Void) throws {
        let name = (path as NSString).lastPathComponent
        let reader = try DelimitedReader(path: path, format: .init(delimiter: 32, quote: nil))
        var indices: [UInt32] = []
        var values: [Float] = []
        try reader.forEachRecord { record in
            if let problem = record.problem {
                throw PipelineError(.input, file: name, line: problem.line, column: problem.column, problem.message)
            }
            indices.removeAll(keepingCapacity: true)
            values.removeAll(keepingCapacity: true)
            var label: Float? = nil
            for k in 0..<record.fieldCount {
                let token = record.field(k)
                if token.isEmpty { continue }
                let column = record.column(ofField: k)
                if label == nil {
                    guard let value = Float(record.string(k)), value.isFinite else {
                        throw PipelineError(.input, file: name, line: record.line, column: column, "expected a numeric label")
                    }
                    label = value
                    continue
                }
                guard let colon = token.firstIndex(of: 58),
                    let index = UInt32(String(decoding: token[..<colon], as: UTF8.self)),
                    let value = Float(String(decoding: token[(colon + 1)...], as: UTF8.self)), value.isFinite
                else {
                    throw PipelineError(
                        .input, file: name, line: record.line, column: column, "expected 'index:value' with a non-negative integer index")
                }
                indices.append(index)
                values.append(value)
            }
            guard let label else { return }
            try body(label, indices, values)
        }
    }
}
