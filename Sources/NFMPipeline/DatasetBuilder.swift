import Foundation
import NFMFormat

/// Streams one raw log through a definition into a verified dataset directory (SPEC §2–6).
///
/// Pass 1 reads the input once: it hashes it, builds each field's vocabulary in first-appearance order,
/// the set of positive (rule key, corrupted value) pairs, and spills the encoded positives (local value
/// indices + rule-key id). Pass 2 replays the positives, draws their negatives from per-row seeded
/// streams, gives instance `g` (positives in file order, each followed by its negatives) the position
/// `π(g)` of a seeded Feistel permutation of `0..<N`, and scatters it to the bucket of that position.
/// Buckets are then emptied in position order into the split writers: positions
/// `0..<⌈0.7N⌉` are train, up to `⌈0.9N⌉` validation, the rest test (cumulative ratios, rounded up), and
/// the order inside each split is the permutation order. Nothing here depends on thread count or buffer
/// sizes, so equal inputs give byte-equal outputs.
public enum DatasetBuilder {
    public struct Options {
        public var definition: DatasetDefinition
        public var inputPath: String
        public var outputDirectory: String
        public var seed: UInt64?
        public var rule: String?
        public var threads = max(1, ProcessInfo.processInfo.activeProcessorCount)
        public var readBufferSize = 1 << 20
        /// Bytes held at once for spilled positives (¼), the bucket being shuffled (½) and bucket write
        /// buffers (¼); more is spilled to temporary files. Hash sets of distinct keys come on top.
        public var memoryBudget = 256 << 20
        public var skipBadRows = false
        public var force = false
        /// Called every 65,536 rows with the pass name and rows done.
        public var progress: ((String, Int) -> Void)?

        public init(definition: DatasetDefinition, inputPath: String, outputDirectory: String) {
            self.definition = definition
            self.inputPath = inputPath
            self.outputDirectory = outputDirectory
        }
    }

    public static let rejectsFile = "rejects.tsv"

    /// Builds the dataset and returns its manifest (already written).
    @discardableResult
    public static func build(_ options: Options) throws -> DatasetManifest {
        let out = options.outputDirectory
        try prepareOutput(out, force: options.force)
        do {
            return try run(options)
        } catch {
            FileSystem.remove(out)
            throw error
        }
    }

    static func prepareOutput(_ out: String, force: Bool) throws {
        if FileSystem.exists(out) {
            guard FileSystem.isDirectory(out) else {
                throw PipelineError(.refused, "\(out): exists and is not a directory")
            }
            let contents = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
            if !contents.isEmpty {
                guard force else {
                    throw PipelineError(.refused, "\(out): directory is not empty (use --force to replace it)")
                }
                // Remove the manifest first, so the directory stops verifying before anything else changes.
                unlink(out + "/" + DatasetManifest.fileName)
                FileSystem.remove(out)
            }
        }
        try FileSystem.createDirectory(out)
    }

    // MARK: - The two passes

    private static func run(_ options: Options) throws -> DatasetManifest {
        let definition = options.definition
        let out = options.outputDirectory
        let seed = options.seed ?? definition.seed
        let ruleName = options.rule ?? definition.negatives.rule
        let ruleKey = try definition.ruleKey(ruleName)
        let fieldCount = definition.fields.count
        let corrupted = definition.corruptedField
        let inputName = (options.inputPath as NSString).lastPathComponent
        let scratchDirectory = out + "/.scratch"
        try FileSystem.createDirectory(scratchDirectory)

        // Pass 1: read, validate, encode, collect positive pairs.
        let hasher = SHA256()
        var inputBytes = 0
        let reader = try DelimitedReader(
            path: options.inputPath,
            format: .init(
                delimiter: definition.input.delimiter.utf8.first!, quote: definition.input.quote?.utf8.first),
            bufferSize: options.readBufferSize,
            onBytes: { bytes in
                hasher.update(bytes)
                inputBytes += bytes.count
            })
        var vocabularies = (0..<fieldCount).map { _ in Vocabulary() }
        var keys = Vocabulary(capacity: 1 << 12)
        var sampler = NegativeSampler(perPositive: definition.negatives.perPositive, seed: seed)
        let positives = RecordSpill(
            recordWidth: fieldCount + 1, memoryLimit: options.memoryBudget / 4,
            path: scratchDirectory + "/positives")
        let rejects = RejectLog(path: out + "/" + rejectsFile, enabled: options.skipBadRows)
        var columnOfField: [Int] = []
        var expectedColumns = 0
        var counts = DatasetManifest.Counts()
        var record = [UInt32](repeating: 0, count: fieldCount + 1)
        var keyTuple = [UInt32](repeating: 0, count: ruleKey.count)
        var sawHeader = !definition.input.header

        if !definition.input.header {
            columnOfField = definition.fields.map { definition.columns.firstIndex(of: $0)! }
            expectedColumns = definition.columns.count
        }

        try reader.forEachRecord { row in
            if !sawHeader {
                sawHeader = true
                if let problem = row.problem {
                    throw PipelineError(
                        .input, file: inputName, line: problem.line, column: problem.column, "header: " + problem.message)
                }
                let names = (0..<row.fieldCount).map { row.string($0) }
                for column in definition.columns where !names.contains(column) {
                    throw PipelineError(
                        .input, file: inputName, line: row.line, column: 1,
                        "missing header column '\(column)' (the header has \(names))")
                }
                columnOfField = definition.fields.map { names.firstIndex(of: $0)! }
                expectedColumns = names.count
                return
            }
            counts.rowsRead += 1
            var problem = row.problem
            if problem == nil && row.fieldCount != expectedColumns {
                let column =
                    row.fieldCount > expectedColumns
                    ? row.column(ofField: expectedColumns) : row.column(ofField: row.fieldCount - 1)
                        + row.field(row.fieldCount - 1).count
                let line = row.fieldCount > expectedColumns
                    ? row.line(ofField: expectedColumns) : row.line(ofField: row.fieldCount - 1)
                problem = (line, column, "expected \(expectedColumns) fields, found \(row.fieldCount)")
            }
            if let problem {
                guard options.skipBadRows else {
                    throw PipelineError(.input, file: inputName, line: problem.line, column: problem.column, problem.message)
                }
                counts.rowsRejected += 1
                try rejects.add(line: problem.line, column: problem.column, reason: problem.message, raw: row.raw)
                return
            }
            for f in 0..<fieldCount {
                record[f] = UInt32(vocabularies[f].encode(row.field(columnOfField[f])))
            }
            for (k, f) in ruleKey.enumerated() { keyTuple[k] = record[f] }
            let key = keyTuple.withUnsafeBytes { keys.encode($0.bindMemory(to: UInt8.self)) }
            record[fieldCount] = UInt32(key)
            sampler.recordPositive(key: key, value: Int(record[corrupted]))
            try record.withUnsafeBufferPointer { try positives.append($0) }
            counts.positives += 1
            if counts.rowsRead & 0xFFFF == 0 { options.progress?("read", counts.rowsRead) }
        }
        guard sawHeader else {
            throw PipelineError(.input, file: inputName, line: 1, column: 1, "empty file: expected a header line")
        }
        guard counts.positives > 0 else {
            throw PipelineError(.input, "\(inputName): no valid data rows (read \(counts.rowsRead))")
        }

        // Between the passes: sizes, offsets, unsampleable rows, the permutation.
        let valueCount = vocabularies[corrupted].count
        let perPositive = definition.negatives.perPositive
        var unsampleableKeys = [Bool](repeating: false, count: keys.count)
        for key in 0..<keys.count where !sampler.isSampleable(key: key, valueCount: valueCount) {
            unsampleableKeys[key] = true
            counts.unsampleableRows += keys.counts[key]
        }
        counts.negatives = perPositive * (counts.positives - counts.unsampleableRows)
        let total = counts.positives + counts.negatives
        var offsets = [Int](repeating: 0, count: fieldCount)
        for f in 1..<max(fieldCount, 1) { offsets[f] = offsets[f - 1] + vocabularies[f - 1].count }
        let featureCount = offsets[fieldCount - 1] + vocabularies[fieldCount - 1].count
        let boundaries = splitBoundaries(total: total, ratios: definition.split)
        (counts.train, counts.validation, counts.test) =
            (boundaries.0, boundaries.1 - boundaries.0, total - boundaries.1)
        let permutation = FeistelPermutation(count: UInt64(total), seed: seed)
        let labelPositive = definition.labels.positive.bitPattern
        let labelNegative = definition.labels.negative.bitPattern

        // Pass 2: negatives, positions, scatter to buckets.
        let width = fieldCount + 2  // position in bucket, label bits, features
        let bucketCapacity = max(1, options.memoryBudget / 2 / (width * 4))
        let bucketCount = (total + bucketCapacity - 1) / bucketCapacity
        let buckets = (0..<bucketCount).map { b in
            RecordSpill(
                recordWidth: width,
                memoryLimit: bucketCount == 1 ? Int.max : max(width * 4, options.memoryBudget / (4 * bucketCount)),
                path: scratchDirectory + "/bucket-\(b)")
        }
        // One bucket: instances go straight to their slot. Several: through spilled bucket files.
        let direct = bucketCount == 1
        var labels = [UInt32](repeating: 0, count: min(bucketCapacity, total))
        var features = [UInt32](repeating: 0, count: min(bucketCapacity, total) * fieldCount)
        var instance = [UInt32](repeating: 0, count: width)
        var drawn: [Int] = []
        var nextID: UInt64 = 0
        var row = 0
        let featureOffsets = offsets.map(UInt32.init)

        func emit(_ label: UInt32) throws {
            let position = Int(permutation.position(of: nextID))
            nextID += 1
            if direct {
                labels[position] = label
                for f in 0..<fieldCount { features[position * fieldCount + f] = instance[2 + f] }
                return
            }
            instance[0] = UInt32(position % bucketCapacity)
            instance[1] = label
            try instance.withUnsafeBufferPointer { try buckets[position / bucketCapacity].append($0) }
        }

        try positives.drain { chunk in
            var start = 0
            while start < chunk.count {
                let key = Int(chunk[start + fieldCount])
                for f in 0..<fieldCount { instance[2 + f] = featureOffsets[f] + chunk[start + f] }
                try emit(labelPositive)
                if !unsampleableKeys[key] {
                    sampler.draw(row: row, key: key, into: &drawn, valueCount: valueCount)
                    for value in drawn {
                        instance[2 + corrupted] = featureOffsets[corrupted] + UInt32(value)
                        try emit(labelNegative)
                    }
                }
                row += 1
                start += fieldCount + 1
                if row & 0xFFFF == 0 { options.progress?("sample", row) }
            }
        }
        precondition(nextID == UInt64(total))

        // Empty the buckets in position order into the shard writers.
        let writers = try Split.allCases.map { split in
            try ShardWriter(
                directory: out, split: split, layout: .fixed, fieldCount: fieldCount,
                rowsPerShard: definition.shardRows, level: definition.zstdLevel, threads: options.threads)
        }
        for (b, bucket) in buckets.enumerated() {
            let base = b * bucketCapacity
            let size = min(bucketCapacity, total - base)
            if !direct {
                try bucket.drain { chunk in
                    var start = 0
                    while start < chunk.count {
                        let slot = Int(chunk[start])
                        labels[slot] = chunk[start + 1]
                        for f in 0..<fieldCount { features[slot * fieldCount + f] = chunk[start + 2 + f] }
                        start += width
                    }
                }
            }
            try features.withUnsafeBufferPointer { all in
                for slot in 0..<size {
                    let position = base + slot
                    let split = position < boundaries.0 ? 0 : position < boundaries.1 ? 1 : 2
                    try writers[split].append(
                        label: Float(bitPattern: labels[slot]),
                        features: UnsafeBufferPointer(rebasing: all[slot * fieldCount..<(slot + 1) * fieldCount]))
                }
            }
            options.progress?("write", base + size)
        }
        var shards: [DatasetManifest.Shard] = []
        for writer in writers { shards += try writer.finish() }
        FileSystem.remove(scratchDirectory)

        // Vocabularies, rejects, and last the manifest.
        try FileSystem.createDirectory(out + "/vocab")
        var files: [DatasetManifest.File] = []
        var fieldRecords: [DatasetManifest.Field] = []
        for (f, name) in definition.fields.enumerated() {
            let path = String(format: "vocab/%02d-%@.tsv", f, sanitized(name))
            let bytes = vocabularies[f].fileBytes()
            try FileSystem.writeAtomically(bytes, to: out + "/" + path)
            files.append(.init(path: path, bytes: bytes.count, sha256: SHA256.hexDigest(of: bytes)))
            fieldRecords.append(
                .init(name: name, offset: offsets[f], cardinality: vocabularies[f].count, vocabulary: path))
        }
        if let rejected = try rejects.finish() {
            files.append(.init(path: rejectsFile, bytes: rejected.bytes, sha256: rejected.sha256))
        }
        let manifest = DatasetManifest(
            tool: ToolInfo.name, name: definition.name,
            definition: .init(
                file: definition.sourceFile, sha256: SHA256.hexDigest(of: Array(definition.sourceText.utf8)),
                text: definition.sourceText),
            seed: seed, negativeRule: ruleName,
            inputs: [.init(name: inputName, bytes: inputBytes, sha256: hasher.hexDigest())],
            counts: counts, labels: .init(positive: definition.labels.positive, negative: definition.labels.negative),
            layout: .fixed, fields: fieldRecords, featureCount: featureCount, files: files, shards: shards)
        try manifest.write(to: out)
        return manifest
    }

    /// Cumulative split boundaries `(⌈N·train⌉, ⌈N·(train+validation)⌉)`, in exact integer arithmetic on
    /// ratios rounded to parts per million. Frappe: N = 288,609 → 202,027 / 57,722 / 28,860.
    public static func splitBoundaries(total: Int, ratios: DatasetDefinition.SplitRatios) -> (Int, Int) {
        let train = Int((ratios.train * 1_000_000).rounded())
        let validation = Int((ratios.validation * 1_000_000).rounded())
        func ceilPart(_ ppm: Int) -> Int {
            let (q, r) = (total * ppm).quotientAndRemainder(dividingBy: 1_000_000)
            return min(total, q + (r > 0 ? 1 : 0))
        }
        return (ceilPart(train), ceilPart(train + validation))
    }

    static func sanitized(_ name: String) -> String {
        String(
            name.unicodeScalars.map { scalar in
                CharacterSet.alphanumerics.contains(scalar) || scalar == "-" || scalar == "_"
                    ? Character(scalar) : "_"
            })
    }
}

/// The rejected rows of a `--skip-bad-rows` build: `line<TAB>column<TAB>reason<TAB>record`, the record
/// escaped like vocabulary values so that it stays on one line.
final class RejectLog {
    private let path: String
    private let enabled: Bool
    private var bytes: [UInt8] = []

    init(path: String, enabled: Bool) {
        self.path = path
        self.enabled = enabled
    }

    func add(line: Int, column: Int, reason: String, raw: UnsafeBufferPointer<UInt8>) throws {
        guard enabled else { return }
        if bytes.isEmpty { bytes = Array("line\tcolumn\treason\trecord\n".utf8) }
        bytes += Array("\(line)\t\(column)\t\(reason)\t".utf8)
        Vocabulary.appendEscaped(raw, to: &bytes)
        bytes.append(10)
    }

    /// Writes the file when anything was rejected.
    func finish() throws -> (bytes: Int, sha256: String)? {
        guard enabled, !bytes.isEmpty else { return nil }
        try FileSystem.writeAtomically(bytes, to: path)
        return (bytes.count, SHA256.hexDigest(of: bytes))
    }
}
