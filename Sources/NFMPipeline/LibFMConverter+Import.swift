import Foundation
import NFMFormat

extension LibFMConverter {
    /// What `importFiles` reads and writes.
    public struct ImportOptions {
        /// One libFM file per split (train required); a path, `/dev/stdin` or `-` (standard input),
        /// plain or gzip/zstd-compressed. Each is read exactly once.
        public var files: [Split: String]
        /// The dataset directory to write.
        public var outputDirectory: String
        /// The manifest's dataset name.
        public var name = "libfm-import"
        /// Rows per shard; nil: 65,536, or fewer when rows are so long that a shard would exceed
        /// `LibFMLine.maximumShardEntries` entries.
        public var rowsPerShard: Int?
        /// zstd level (1…22).
        public var zstdLevel = 3
        /// Shards compressed at once (output never depends on it).
        public var threads = max(1, ProcessInfo.processInfo.activeProcessorCount)
        /// Replace an output directory that an earlier nfm import wrote.
        public var force = false
        /// Options with the defaults above.
        public init(files: [Split: String], outputDirectory: String) {
            self.files = files
            self.outputDirectory = outputDirectory
        }
    }

    /// The imported dataset's manifest and what its labels are; the manifest's properties read through
    /// (`result.featureCount`), so callers written against the manifest keep working.
    @dynamicMemberLookup
    public struct ImportResult: Sendable {
        /// The manifest written.
        public let manifest: DatasetManifest
        /// The label values seen.
        public let labels: LabelSummary

        /// A property of the manifest.
        public subscript<T>(dynamicMember keyPath: KeyPath<DatasetManifest, T>) -> T { manifest[keyPath: keyPath] }
    }

    /// Makes a dataset directory from libFM files, one per split.
    ///
    /// Each input is read once: parsed rows go to an unnamed spool file while the layout and label range
    /// are worked out; only then is the output claimed (`OutputDirectory`, kind `.dataset`) and the shards
    /// written from the spool. Limits: `LibFMLine.maximumIndex`, `LibFMLine.maximumEntries`, and
    /// `rowsPerShard × entries per row ≤ LibFMLine.maximumShardEntries`.
    @discardableResult
    public static func importFiles(_ options: ImportOptions) throws -> ImportResult {
        let out = options.outputDirectory
        guard options.files[.train] != nil else { throw NFMError(.usage, "import-libfm needs at least a train file") }
        try checkOptions(options)
        let paths = Split.allCases.compactMap { options.files[$0] }.map { $0 == "-" ? "/dev/stdin" : $0 }
        try refuseRepeatedStreams(options.files)
        try OutputDirectory.check(out, kind: .dataset, force: options.force, inputs: paths)

        let spool = try LibFMSpool(near: parentDirectory(of: out))
        var scan = LibFMScan()
        var inputs: [DatasetManifest.Input] = []
        for split in Split.allCases {
            guard let path = options.files[split] else { continue }
            inputs.append(try read(path, split: split, into: &scan, spool: spool))
        }
        guard scan.rows[.train, default: 0] > 0 else {
            throw NFMError(
                .input, "no rows in the train file (an empty file, or a stream that was already read)",
                at: .init(file: options.files[.train] == "-" ? "<stdin>" : options.files[.train]))
        }
        let budget = LibFMLine.maximumShardEntries
        var options = options
        options.rowsPerShard = options.rowsPerShard ?? min(65536, budget / max(scan.maxEntries, 1))
        let shape = try scan.shape(rowsPerShard: options.rowsPerShard ?? 65536)

        let directory = try OutputDirectory.claim(out, kind: .dataset, force: options.force, inputs: paths)
        do {
            let manifest = try writeShards(options, scan: scan, shape: shape, inputs: inputs, spool: spool)
            try manifest.write(to: out)
            directory.commit()
            return ImportResult(manifest: manifest, labels: scan.labels)
        } catch {
            directory.abandon()
            throw error
        }
    }

    /// The directory holding `path` (`.` for a bare name). Foundation's `deletingLastPathComponent` traps
    /// on a one-component relative path on Linux (Swift 6.3.1), so this is done by hand.
    static func parentDirectory(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }

    private static func checkOptions(_ options: ImportOptions) throws {
        let rows = DatasetDefinition.Limits.shardRows
        if let rowsPerShard = options.rowsPerShard, !rows.contains(rowsPerShard) {
            throw NFMError(
                .usage, "rows per shard must be 1…\(rows.upperBound) (2^24)",
                at: .init(field: "--shard-rows", value: String(rowsPerShard)))
        }
        guard DatasetDefinition.Limits.zstdLevel.contains(options.zstdLevel) else {
            throw NFMError(.usage, "the zstd level must be 1…22", at: .init(field: "--zstd-level", value: String(options.zstdLevel)))
        }
    }

    /// A stream (pipe, terminal, `/dev/stdin`) can be read only once: refuse it for two splits.
    private static func refuseRepeatedStreams(_ files: [Split: String]) throws {
        var seen: [String: Split] = [:]
        for split in Split.allCases {
            guard let path = files[split] else { continue }
            var info = stat()
            guard stat(path == "-" ? "/dev/stdin" : path, &info) == 0, info.st_mode & S_IFMT != S_IFREG else { continue }
            let identity = "\(info.st_dev):\(info.st_ino)"
            if let first = seen[identity] {
                throw NFMError(
                    .usage, "the same stream is given for --\(first.rawValue) and --\(split.rawValue); a stream can be read only once",
                    at: .init(file: path))
            }
            seen[identity] = split
        }
    }

    /// Reads one input once: parses every line into the spool and the scan, hashing the stored bytes.
    private static func read(
        _ path: String, split: Split, into scan: inout LibFMScan, spool: LibFMSpool
    ) throws -> DatasetManifest.Input {
        let input = try RawInput(path: path)
        let name = input.displayName.split(separator: "/").last.map(String.init) ?? input.displayName
        // Delimiter NUL: the reader hands over whole lines (`record.raw`); `LibFMLine` splits the tokens.
        let reader = try DelimitedReader(
            source: input, name: name, format: .init(delimiter: 0, quote: nil),
            maximumRecordBytes: LibFMLine.maximumLineBytes)
        var row = LibFMRow()
        try reader.forEachRecord { record in
            if let problem = record.problem {
                throw NFMError(.input, file: name, line: problem.line, column: problem.column, problem.message)
            }
            guard try LibFMLine.parse(record.raw, into: &row, file: name, line: record.line) else { return }
            scan.add(row, split: split)
            try spool.append(row)
        }
        return DatasetManifest.Input(name: name, bytes: input.storedBytes, sha256: input.sha256())
    }

    private static func writeShards(
        _ options: ImportOptions, scan: LibFMScan, shape: LibFMScan.Shape, inputs: [DatasetManifest.Input],
        spool: LibFMSpool
    ) throws -> DatasetManifest {
        try spool.rewind()
        var shards: [DatasetManifest.Shard] = []
        var counts = DatasetManifest.Counts()
        var row = LibFMRow()
        for split in Split.allCases {
            let writer = try ShardWriter(
                directory: options.outputDirectory, split: split, layout: shape.fields.isEmpty ? .sparse : .fixed,
                fieldCount: shape.fields.count, rowsPerShard: options.rowsPerShard ?? 65536, level: options.zstdLevel,
                threads: options.threads)
            let rows = scan.rows[split, default: 0]
            for _ in 0..<rows {
                try spool.next(into: &row)
                if shape.fields.isEmpty {
                    try writer.append(label: row.label, indices: row.indices, values: row.values)
                } else {
                    try row.indices.withUnsafeBufferPointer { try writer.append(label: row.label, features: $0) }
                }
            }
            shards += try writer.finish()
            switch split {
            case .train: counts.train = rows
            case .validation: counts.validation = rows
            case .test: counts.test = rows
            }
        }
        counts.rowsRead = counts.instances
        if scan.labels.distinct.count <= 2 {  // positives and negatives exist only for (at most) two labels
            counts.positives = scan.labels.maximumCount
            counts.negatives = scan.labels.distinct.count == 2 ? scan.labels.minimumCount : 0
        }
        return DatasetManifest(
            tool: ToolInfo.name, name: options.name, definition: nil, seed: 0, negativeRule: nil, inputs: inputs,
            counts: counts, labels: .init(positive: scan.labels.maximum, negative: scan.labels.minimum),
            layout: shape.fields.isEmpty ? .sparse : .fixed, fields: shape.fields, featureCount: shape.featureCount,
            files: [], shards: shards)
    }
}
