import Foundation
import NFMFormat

/// The partitioned build as separate steps over shared storage (`nfm build-step`): each step reads the
/// files of the steps before it from `OUT/.steps` and writes its own, so a distributed engine can run the
/// map, place and reduce steps as independent tasks. The merged dataset is byte-identical to `nfm build`'s
/// (the same library types do the work: see `PartitionedBuild`).
///
/// Files (`StepFile` layout unless JSON): `plan.json`; `map/I.scan` (`SCAN`) and `map/I.rows` (`ROWS`);
/// `merge/vocab.bin` (`VOCB`), `merge/state.bin` (`MRGE`) and `merge/remap-I.bin` (`RMAP`);
/// `place/I/bucket-J.bin` (`BCKT`); `reduce/J.json`. Every step rewrites its outputs atomically, so a
/// retried task replaces them. A definition with a label column runs `LabelledSteps` (its own step
/// files, same entry points and outputs).
public enum BuildSteps {
    /// Validates the build, claims `OUT` (as `nfm build` does), cuts the inputs into partitions of about
    /// `partitionBytes` bytes and writes `OUT/.steps/plan.json`; returns the number of partitions.
    /// Refuses standard input (`.usage`). A definition with a label column runs `LabelledSteps`.
    /// `mergeShards` R > 1 splits the merge into R `mergeShard` tasks and a light `merge`
    /// (`MergeShardStep`, `ShardedMerge`, `ShardedLabelledMerge`).
    public static func plan(_ options: DatasetBuilder.Options, partitionBytes: Int, mergeShards: Int = 1) throws -> Int {
        var options = options
        options.inputPaths = options.inputPaths.map(absolute)
        let plan = try BuildPlan(options)
        guard !options.inputPaths.contains("-") else {
            throw NFMError(.usage, "build-step reads files only, not standard input (-)")
        }
        guard partitionBytes >= 1 else { throw NFMError(.usage, "--partition-mib must be ≥ 1") }
        guard (1...MergeShard.maximum).contains(mergeShards) else {
            throw NFMError(.usage, "--merge-shards must be in 1…\(MergeShard.maximum)")
        }
        let inputs = try plan.openInputs()
        let output = try OutputDirectory.claim(
            options.outputDirectory, kind: .dataset, force: options.force, inputs: plan.protectedPaths)
        defer { output.close() }
        do {
            let partitions = try inputs.partitions(chunk: partitionBytes)
            var hashed: [StepPlan.Stored] = []
            for input in inputs.paths.indices where partitions.count(where: { $0.input == input }) > 1 {
                let sha = try SHA256.hexDigest(ofFile: inputs.paths[input])
                let size = try PositionedFile(path: inputs.paths[input]).size()
                hashed.append(.init(input: input, name: inputs.names[input], bytes: size, sha256: sha))
            }
            let stepPlan = StepPlan(
                options: options, memoryBudget: plan.memoryBudget, partitions: partitions, hashed: hashed,
                mergeShards: mergeShards)
            try FileSystem.createDirectory(options.outputDirectory + "/.steps")
            try FileSystem.writeAtomically(try stepPlan.encoded(), to: StepContext.planPath(options.outputDirectory))
            output.commit()
            return partitions.count
        } catch {
            output.abandon()
            throw error
        }
    }

    /// Scans partition `partition` into `map/I.scan` and `map/I.rows` (with merge shards: `map/I.sscan`,
    /// `map/I.vals` and `map/I.rows`); returns its counts.
    public static func map(out: String, partition: Int) throws -> [String: Int] {
        let context = try StepContext(out: out)
        if let label = context.plan.definition.label { return try LabelledSteps.map(context, label, partition: partition) }
        let part = try context.partition(partition)
        let inputs = try context.plan.openInputs()
        var scan = PartitionScan(plan: context.plan, rowMemory: 1 << 41, rowSpillPath: context.steps + "/map/\(partition).spill")
        try scan.run(part, inputs: inputs, plan: context.plan)
        var rows = StepWriter()
        var words: [UInt32] = []
        try scan.rows.drain { words += $0 }
        rows.words(words)
        try StepFile.write(rows, kind: "ROWS", plan: context.id, to: context.steps + "/map/\(partition).rows")
        if context.mergeShards > 1 {
            try ShardedScan.write(scan, context, partition: partition)
        } else {
            try StepFile.write(StepCodec.encode(scan), kind: "SCAN", plan: context.id, to: context.steps + "/map/\(partition).scan")
        }
        return ["rows": scan.rowsRead, "positives": scan.positives, "rejected": scan.rowsRejected]
    }

    /// Merge shard `shard` of a plan with R > 1 merge shards (`MergeShardStep`): reads slice `shard` of
    /// every `map/I.vals`, writes `mshard/S.bin` and `mshard/S.values`; returns its distinct values and its
    /// references (local values seen in an earlier partition).
    /// `.usage` when the plan has no merge shards or `shard` is not in `0..<R`.
    public static func mergeShard(out: String, shard: Int) throws -> (values: Int, references: Int) {
        let context = try StepContext(out: out)
        guard context.mergeShards > 1 else {
            throw NFMError(.usage, "the plan has one merge task (plan --merge-shards R to shard it): run merge")
        }
        guard (0..<context.mergeShards).contains(shard) else {
            throw NFMError(.usage, "--shard must be in 0..<\(context.mergeShards)")
        }
        return try MergeShardStep.run(context, shard: shard)
    }

    /// Merges every partition's scan (throwing the first bad row); writes `merge/*`. Returns the number of
    /// buckets and of instances. With merge shards, combines their outputs instead (`ShardedMerge`), on up
    /// to `threads` threads (same output for every count).
    public static func merge(out: String, threads: Int = 1) throws -> (buckets: Int, instances: Int) {
        let context = try StepContext(out: out)
        if context.plan.definition.label != nil { return try LabelledSteps.merge(context, threads: threads) }
        if context.mergeShards > 1 { return try ShardedMerge.run(context, threads: threads) }
        let scans = try (0..<context.partitions.count).map { try context.scan($0) }
        let merge = try VocabularyMerge(
            plan: context.plan, partitions: context.partitions, scans: scans, inputNames: context.inputNames)
        try context.writeMergedVocabularies(merge.vocabularies)
        for i in scans.indices {
            var remap = StepWriter()
            remap.u64(merge.remaps[i].count)
            for table in merge.remaps[i] { remap.words(table) }
            remap.words(merge.keyRemaps[i])
            try StepFile.write(remap, kind: "RMAP", plan: context.id, to: context.steps + "/merge/remap-\(i).bin")
        }
        let state = MergeState(
            layout: merge.layout, pairs: merge.pairs, rowOffsets: merge.rowOffsets,
            instanceOffsets: merge.instanceOffsets, lines: scans.map(\.lines),
            capacity: min(max(1, context.plan.memoryBudget / 2 / ((context.plan.fieldCount + 2) * 4)), Int(UInt32.max)))
        try StepFile.write(StepCodec.encode(state), kind: "MRGE", plan: context.id, to: context.steps + "/merge/state.bin")
        return (context.buckets(state).count, merge.layout.total)
    }

    /// Places partition `partition`'s instances into `place/I/bucket-J.bin` (one file per bucket);
    /// returns the number placed.
    public static func place(out: String, partition: Int) throws -> Int {
        let context = try StepContext(out: out)
        if context.plan.definition.label != nil { return try LabelledSteps.place(context, partition: partition) }
        _ = try context.partition(partition)
        let state = try context.state()
        var reader = try StepFile.read(context.steps + "/merge/remap-\(partition).bin", kind: "RMAP", plan: context.id)
        let fields = try reader.int(limit: context.plan.fieldCount)
        let remaps = try (0..<fields).map { _ in try reader.words() }
        var keyRemap = try reader.words()
        var (layout, sampler) = (state.layout, state.sampler(context.plan))
        if context.mergeShards > 1 {
            (layout, keyRemap, sampler) = try PartitionPairs.compactKeys(context, partition: partition, state, keyRemap)
        }
        var rowsReader = try StepFile.read(context.steps + "/map/\(partition).rows", kind: "ROWS", plan: context.id)
        let words = try rowsReader.words()
        let rows = RecordSpill(recordWidth: context.plan.fieldCount + 1, memoryLimit: 1 << 41, path: "")
        try words.withUnsafeBufferPointer { try rows.append($0) }
        let buckets = context.buckets(state)
        let sink = MemorySink(buckets: buckets.count)
        var placement = PartitionPlacement(
            plan: context.plan, layout: layout, buckets: buckets, remaps: remaps, keyRemap: keyRemap,
            rowOffset: state.rowOffsets[partition], instanceOffset: state.instanceOffsets[partition], sink: sink)
        try placement.run(rows, sampler: sampler)
        for bucket in 0..<buckets.count {
            var writer = StepWriter()
            writer.words(sink.records[bucket])
            try StepFile.write(
                writer, kind: "BCKT", plan: context.id, to: context.steps + "/place/\(partition)/bucket-\(bucket).bin")
        }
        return placement.placed
    }

    /// Writes the shards of bucket `bucket` from every partition's `place/*/bucket-J.bin`, and their records
    /// to `reduce/J.json`; returns the number of shards.
    public static func reduce(out: String, bucket: Int, threads: Int) throws -> Int {
        let context = try StepContext(out: out)
        let shards: [DatasetManifest.Shard]
        if context.plan.definition.label != nil {
            shards = try LabelledSteps.reduce(context, bucket: bucket, threads: threads)
        } else {
            shards = try reduceSampling(context, bucket: bucket, threads: threads)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let file = ReduceRecord(plan: String(context.id), shards: shards)
        try FileSystem.createDirectory(context.steps + "/reduce")
        try FileSystem.writeAtomically(Array(try encoder.encode(file)), to: context.steps + "/reduce/\(bucket).json")
        return shards.count
    }

    /// The shards of bucket `bucket` of a sampling build, written from every partition's place files.
    private static func reduceSampling(_ context: StepContext, bucket: Int, threads: Int) throws -> [DatasetManifest.Shard] {
        let state = try context.state()
        let buckets = context.buckets(state)
        guard (0..<buckets.count).contains(bucket) else {
            throw NFMError(.usage, "--bucket must be in 0..<\(buckets.count)")
        }
        let contents = BucketContents(positions: buckets.positions(of: bucket), fieldCount: context.plan.fieldCount)
        var records = 0
        for partition in context.partitions.indices {
            let path = context.steps + "/place/\(partition)/bucket-\(bucket).bin"
            var reader = try StepFile.read(path, kind: "BCKT", plan: context.id)
            let words = try reader.words()
            records += words.count / (context.plan.fieldCount + 2)
            try words.withUnsafeBufferPointer { try contents.scatter($0, source: path) }
        }
        guard records == contents.positions.count else {
            throw NFMError(
                .dataset, "bucket \(bucket) holds \(records) instances, expected \(contents.positions.count) (stale place files?)",
                at: .init(file: context.steps + "/place"))
        }
        return try BucketReduce.writeShards(
            contents, bucket: bucket, layout: buckets, level: context.plan.definition.zstdLevel, directory: context.out,
            threads: threads)
    }

    /// The shard records of every bucket's `reduce/J.json`, in bucket order.
    private static func reducedShards(_ context: StepContext, buckets: Int) throws -> [DatasetManifest.Shard] {
        var shards: [DatasetManifest.Shard] = []
        for bucket in 0..<buckets {
            let path = context.steps + "/reduce/\(bucket).json"
            guard let bytes = try? ReadableFile.readAll(path),
                let record = try? JSONDecoder().decode(ReduceRecord.self, from: Data(bytes)), record.plan == String(context.id)
            else { throw NFMError(.dataset, "missing, damaged or stale reduce record (run reduce \(bucket))", at: .init(file: path)) }
            shards += record.shards
        }
        return shards
    }

    /// Writes the vocabularies, rejects and manifest (last), and removes `.steps`.
    public static func finish(out: String) throws -> DatasetManifest {
        let context = try StepContext(out: out)
        if let label = context.plan.definition.label {
            let state = try LabelledSteps.state(context)
            let shards = try reducedShards(context, buckets: LabelledSteps.buckets(context, state).count)
            let manifest = try LabelledSteps.finish(context, label, shards: shards)
            try manifest.write(to: out)
            FileSystem.remove(context.steps)
            return manifest
        }
        let state = try context.state()
        let buckets = context.buckets(state)
        let vocabularies = try globalVocabularies(context, state)
        let shards = try reducedShards(context, buckets: buckets.count)
        let rejects = RejectLog(path: out + "/" + DatasetBuilder.rejectsFile, enabled: context.plan.skipBadRows)
        let offsets = VocabularyMerge.lineOffsets(context.partitions, lines: state.lines)
        var stored: [Int: DatasetManifest.Input] = [:]
        for hashed in context.stepPlan.hashed { stored[hashed.input] = .init(name: hashed.name, bytes: hashed.bytes, sha256: hashed.sha256) }
        for (i, partition) in context.partitions.enumerated() {
            let scan = context.mergeShards > 1 ? try ShardedScan.read(context, partition: i).scan : try context.scan(i)
            for r in scan.rejects { rejects.add(line: r.line + offsets[i], column: r.column, reason: r.reason, escaped: r.escaped) }
            if let record = scan.stored { stored[partition.input] = record }
        }
        let inputs = try context.inputNames.indices.map { input in
            guard let record = stored[input] else { throw NFMError(.dataset, "no size and hash of input \(input)", at: .init(file: context.steps)) }
            return record
        }
        for split in Split.allCases { try FileSystem.createDirectory(out + "/" + split.rawValue) }
        let manifest = try DatasetBuilder.manifest(
            context.plan, vocabularies, rejects, state.layout, shards, inputs, out: out)
        try manifest.write(to: out)
        FileSystem.remove(context.steps)
        return manifest
    }

    /// The global vocabularies: `merge/vocab.bin`, or with merge shards the shards' values in canonical order.
    private static func globalVocabularies(_ context: StepContext, _ state: MergeState) throws -> [Vocabulary] {
        if context.mergeShards > 1 {
            let l = state.layout
            let ends = l.offsets.dropFirst() + [l.featureCount]
            return try ShardedVocabularies.read(context, sizes: zip(ends, l.offsets).map { $0 - $1 })
        }
        return try context.readMergedVocabularies()
    }

    private static func absolute(_ path: String) -> String {
        path == "-" || path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }
}

/// The shard records a reduce step wrote.
struct ReduceRecord: Codable {
    var format = "nfm-build-reduce"
    var version = 1
    var plan: String
    var shards: [DatasetManifest.Shard]

    init(plan: String, shards: [DatasetManifest.Shard]) {
        self.plan = plan
        self.shards = shards
    }
}

/// A place step's records, kept per bucket in memory until written.
final class MemorySink: BucketSink {
    private(set) var records: [[UInt32]]

    init(buckets: Int) { records = Array(repeating: [], count: buckets) }

    func write(bucket: Int, records chunk: UnsafeBufferPointer<UInt32>) throws { records[bucket] += chunk }
}
