import Foundation
import NFMFormat

/// The step build (`nfm build-step`) of a definition with a label column: the decomposition of
/// `LabelledPartitionedBuild` with its artifacts in files, byte-identical to `nfm build`.
///
/// Files (`StepFile` layout, payloads in `LabelledStepCodec`): `map/I.lscan` (`LSCN`) and `map/I.lrows`
/// (`LROW`); `merge/vocab.bin` (`VOCB`, the global vocabularies), `merge/lstate.bin` (`LMRG`) and
/// `merge/ltable-I.bin` (`LTBL`); `place/I/lbucket-J.bin` (`LBKT`) and `place/I/train.bin` (`LTRN`);
/// `reduce/J.json`. Buckets are `BucketLayout`'s shard-aligned position ranges, so one reduce writes whole
/// shards. The label mean and the standardize moments are sums over the partitions in input order, one
/// value at a time, as in process.
enum LabelledSteps {
    /// Scans partition `partition` into `map/I.lscan` and `map/I.lrows`; returns its counts.
    static func map(_ context: StepContext, _ label: LabelColumn, partition: Int) throws -> [String: Int] {
        let part = try context.partition(partition)
        let inputs = try context.plan.openInputs()
        var scan = LabelledPass(
            plan: context.plan, label: label, inputs: inputs, scratchDirectory: context.steps + "/map",
            rejectsPath: "", partition: partition, rowMemory: 1 << 50)
        try scan.run(part)
        var rows: [UInt32] = []
        try scan.rows.forEachRecord { record in
            rows.append(UInt32(truncatingIfNeeded: record.count))
            rows += record
        }
        var writer = StepWriter()
        writer.words(rows)
        try StepFile.write(writer, kind: "LROW", plan: context.id, to: context.steps + "/map/\(partition).lrows")
        if context.mergeShards > 1 {
            try LabelledShardedScan.write(scan, context, partition: partition)
        } else {
            try StepFile.write(
                LabelledStepCodec.encode(scan), kind: "LSCN", plan: context.id, to: context.steps + "/map/\(partition).lscan")
        }
        return ["rows": scan.counts.rowsRead, "positives": scan.counts.positives, "rejected": scan.counts.rowsRejected]
    }

    static func scan(_ context: StepContext, _ index: Int) throws -> LabelledScanRecord {
        var reader = try StepFile.read(context.steps + "/map/\(index).lscan", kind: "LSCN", plan: context.id)
        return try LabelledStepCodec.decodeScan(&reader, plan: context.plan)
    }

    static func state(_ context: StepContext) throws -> LabelledMergeState {
        var reader = try StepFile.read(context.steps + "/merge/lstate.bin", kind: "LMRG", plan: context.id)
        return try LabelledStepCodec.decodeState(&reader, plan: context.plan, partitions: context.partitions.count)
    }

    static func buckets(_ context: StepContext, _ state: LabelledMergeState) -> BucketLayout {
        BucketLayout(
            total: state.layout.total, boundaries: state.layout.boundaries, rowsPerShard: context.plan.definition.shardRows,
            capacity: state.capacity)
    }

    /// Throws the first bad row of `scans` (one per partition, in input order) at its line in its input.
    static func throwFirstBadRow(_ context: StepContext, _ scans: [LabelledScanRecord]) throws {
        var lineOffset = 0
        for (i, partition) in context.partitions.enumerated() {
            if i > 0 && partition.input != context.partitions[i - 1].input { lineOffset = 0 }
            if let bad = scans[i].badRow {
                throw NFMError(
                    .input, file: context.inputNames[partition.input], line: bad.line + lineOffset, column: bad.column,
                    bad.message)
            }
            lineOffset += scans[i].lines
        }
    }

    /// Merges the scans (throwing the first bad row at its input line); writes `merge/*`.
    static func merge(_ context: StepContext, threads: Int = 1) throws -> (buckets: Int, instances: Int) {
        if context.mergeShards > 1 { return try ShardedLabelledMerge.run(context, threads: threads) }
        let scans = try context.partitions.indices.map { try scan(context, $0) }
        try throwFirstBadRow(context, scans)
        let merge = try LabelledMerge(
            plan: context.plan, partitions: context.partitions, scans: scans, inputNames: context.inputNames)
        try context.writeMergedVocabularies(merge.vocabularies)
        for (i, tables) in merge.tables.enumerated() {
            var writer = StepWriter()
            writer.u64(tables.count)
            for table in tables { writer.words(table) }
            try StepFile.write(writer, kind: "LTBL", plan: context.id, to: context.steps + "/merge/ltable-\(i).bin")
        }
        let total = merge.layout.total
        let wordsPerRecord = 4 + 2 * (merge.entries + total - 1) / max(total, 1)
        let state = LabelledMergeState(
            layout: merge.layout, labelRange: merge.labelRange, rowOffsets: merge.rowOffsets,
            lines: scans.map(\.lines),
            capacity: min(max(1, context.plan.memoryBudget / 2 / (4 * wordsPerRecord)), Int(UInt32.max)))
        try StepFile.write(
            LabelledStepCodec.encode(state), kind: "LMRG", plan: context.id, to: context.steps + "/merge/lstate.bin")
        return (buckets(context, state).count, total)
    }

    /// Places partition `partition`'s rows into `place/I/lbucket-J.bin` and its train values into
    /// `place/I/train.bin`; returns the number placed.
    static func place(_ context: StepContext, partition: Int) throws -> Int {
        _ = try context.partition(partition)
        let state = try state(context)
        let fields = context.plan.fieldCount
        var tableReader = try StepFile.read(context.steps + "/merge/ltable-\(partition).bin", kind: "LTBL", plan: context.id)
        guard try tableReader.int() == fields else {
            throw NFMError(.dataset, "damaged step file: field count", at: .init(file: tableReader.path))
        }
        let tables = try (0..<fields).map { _ in try tableReader.words() }
        for (f, table) in tables.enumerated() where table.contains(where: { Int($0) >= state.layout.cardinalities[f] }) {
            throw NFMError(.dataset, "damaged step file: a feature outside field \(f)", at: .init(file: tableReader.path))
        }
        let rowsPath = context.steps + "/map/\(partition).lrows"
        var rowsReader = try StepFile.read(rowsPath, kind: "LROW", plan: context.id)
        let rows = WordSpill(memoryLimit: 1 << 50, path: "")
        let check = RowCheck(codes: context.plan.definition.fieldSpecs.map(\.cellCode), tables: tables, layout: state.layout)
        try LabelledStepCodec.forEachRecord(try rowsReader.words(), path: rowsPath) { record in
            guard check.isValid(record) else {
                throw NFMError(.dataset, "damaged step file: a row outside its vocabularies", at: .init(file: rowsPath))
            }
            try rows.append(record)
        }
        let layout = buckets(context, state)
        var placement = LabelledPlacement(
            plan: context.plan, specs: context.plan.definition.fieldSpecs, layout: state.layout,
            maximumLabel: state.labelRange.maximum, buckets: EntryBuckets(aligned: layout), tables: tables,
            rowOffset: state.rowOffsets[partition], reportsProgress: false)
        guard state.rowOffsets[partition] + rows.count <= state.layout.total else {
            throw NFMError(.dataset, "stale rows: more than the merge counted", at: .init(file: rowsPath))
        }
        try placement.run(rows, expected: rows.count)
        let directory = context.steps + "/place/\(partition)"
        for bucket in 0..<layout.count {
            var writer = StepWriter()
            writer.words(try placement.buckets.words(of: bucket))
            try StepFile.write(writer, kind: "LBKT", plan: context.id, to: directory + "/lbucket-\(bucket).bin")
        }
        try StepFile.write(
            LabelledStepCodec.encodeTrain(placement), kind: "LTRN", plan: context.id, to: directory + "/train.bin")
        return placement.row
    }

    /// Every partition's train values and labels at the maximum (partition order).
    static func trains(_ context: StepContext) throws -> [(atMaximum: Int, values: [[Float]])] {
        try context.partitions.indices.map { i in
            var reader = try StepFile.read(context.steps + "/place/\(i)/train.bin", kind: "LTRN", plan: context.id)
            return try LabelledStepCodec.decodeTrain(&reader, plan: context.plan)
        }
    }

    /// Each standardized field's (μ, σ) from the partitions' train values.
    static func statistics(_ context: StepContext, _ trains: [(atMaximum: Int, values: [[Float]])])
        -> [Int: (mean: Double, stddev: Double)]
    {
        LabelledPlacement.statistics(
            trains.map(\.values), standardized: LabelledPlacement.standardized(context.plan.definition.fieldSpecs))
    }

    static func shardLayout(_ context: StepContext) -> ShardBlock.Layout {
        context.plan.definition.isOneHot ? .fixed : .sparse
    }

    /// Writes the shards of bucket `bucket` from every partition's `lbucket-J.bin`; returns their records.
    static func reduce(_ context: StepContext, bucket: Int, threads: Int) throws -> [DatasetManifest.Shard] {
        let state = try state(context)
        let layout = buckets(context, state)
        guard (0..<layout.count).contains(bucket) else { throw NFMError(.usage, "--bucket must be in 0..<\(layout.count)") }
        let statistics = statistics(context, try trains(context))
        var gather = EntryBuckets.Gather(bucket: bucket, positions: layout.positions(of: bucket))
        for partition in context.partitions.indices {
            let path = context.steps + "/place/\(partition)/lbucket-\(bucket).bin"
            var reader = try StepFile.read(path, kind: "LBKT", plan: context.id)
            try LabelledStepCodec.forEachRecord(try reader.words(), path: path) { try gather.add($0) }
        }
        let (positions, words, ranges): (Range<Int>, [UInt32], [Range<Int>])
        do { (positions, words, ranges) = try gather.finish() } catch {
            throw NFMError(.dataset, "\(error) (stale place files?)", at: .init(file: context.steps + "/place"))
        }
        let shardLayout = shardLayout(context)
        let decoder = LabelledEmitter(
            layout: shardLayout, boundaries: state.layout.boundaries,
            standardize: LabelledEmitter.standardize(state.layout, statistics))
        let fieldCount = context.plan.fieldCount
        return try BucketReduce.writeShards(
            bucket: bucket, layout: layout, level: context.plan.definition.zstdLevel, directory: context.out,
            threads: threads
        ) { shard in
            var block = shardLayout == .fixed ? ShardBlock(fieldCount: fieldCount) : ShardBlock()
            var indices: [UInt32] = []
            var values: [Float] = []
            for position in shard.positions {
                let label = decoder.entries(words, ranges[position - positions.lowerBound], into: &indices, &values)
                if shardLayout == .fixed {
                    guard indices.count == fieldCount else {
                        throw NFMError(.dataset, "damaged step file: a row of \(indices.count) features", at: .init(file: context.steps))
                    }
                    indices.withUnsafeBufferPointer { block.append(label: label, features: $0) }
                } else {
                    block.append(label: label, indices: indices, values: values)
                }
            }
            return block
        }
    }

    /// Writes the vocabularies, rejects and manifest (last), and removes `.steps`.
    static func finish(_ context: StepContext, _ label: LabelColumn, shards: [DatasetManifest.Shard]) throws
        -> DatasetManifest
    {
        let state = try state(context)
        let plan = context.plan
        let vocabularies = try globalVocabularies(context)
        var counts = DatasetManifest.Counts()
        (counts.rowsRead, counts.rowsRejected, counts.positives) =
            (state.layout.counts.rowsRead, state.layout.counts.rowsRejected, state.layout.counts.positives)
        let specs = plan.definition.fieldSpecs
        let layout = try LabelledLayout(plan: plan, specs: specs, vocabularies: vocabularies, counts: counts)
        guard layout.cardinalities == state.layout.cardinalities else {
            throw NFMError(.dataset, "the vocabularies do not match the merge (stale merge files)", at: .init(file: context.steps + "/merge"))
        }
        let trains = try trains(context)
        let statistics = statistics(context, trains)
        let rejects = RejectLog(path: context.out + "/" + DatasetBuilder.rejectsFile, enabled: plan.skipBadRows)
        let offsets = VocabularyMerge.lineOffsets(context.partitions, lines: state.lines)
        var stored: [Int: DatasetManifest.Input] = [:]
        for hashed in context.stepPlan.hashed {
            stored[hashed.input] = .init(name: hashed.name, bytes: hashed.bytes, sha256: hashed.sha256)
        }
        for (i, partition) in context.partitions.enumerated() {
            let scan = context.mergeShards > 1 ? try LabelledShardedScan.read(context, partition: i).scan : try scan(context, i)
            for r in scan.rejects { rejects.add(line: r.line + offsets[i], column: r.column, reason: r.reason, escaped: r.escaped) }
            if let record = scan.stored { stored[partition.input] = record }
        }
        let inputs = try context.inputNames.indices.map { input in
            guard let record = stored[input] else {
                throw NFMError(.dataset, "no size and hash of input \(input)", at: .init(file: context.steps))
            }
            return record
        }
        for split in Split.allCases { try FileSystem.createDirectory(context.out + "/" + split.rawValue) }
        let summary = LabelledBuild.Summary(
            specs: specs, vocabularies: vocabularies, labelRange: state.labelRange,
            atMaximum: trains.reduce(0) { $0 + $1.atMaximum }, inputs: inputs)
        return try LabelledBuild.manifest(
            plan, label, summary, layout, statistics, shardLayout(context), shards, rejected: rejects.finish(),
            out: context.out)
    }

    /// The global vocabularies: `merge/vocab.bin`, or with merge shards the shards' values in canonical order.
    private static func globalVocabularies(_ context: StepContext) throws -> [Vocabulary] {
        if context.mergeShards > 1 { return try ShardedVocabularies.read(context, sizes: nil) }
        return try context.readMergedVocabularies()
    }

    /// Checks a row read back from `map/I.lrows` before placement: its words follow the fields' codes
    /// (`LabelledPass`'s record) and every vocabulary word has a feature. O(words of the row).
    struct RowCheck {
        let codes: [CellCode]
        let tables: [[UInt32]]
        let layout: LabelledLayout

        /// Whether `word` of field `f` is the OOV word or a word with a feature.
        private func hasFeature(_ f: Int, _ word: UInt32) -> Bool {
            word == LabelledPass.oovWord
                || (tables[f].isEmpty ? Int(word) < layout.cardinalities[f] : Int(word) < tables[f].count)
        }

        func isValid(_ words: UnsafeBufferPointer<UInt32>) -> Bool {
            var w = 1
            for f in codes.indices {
                guard w < words.count else { return false }
                switch codes[f] {
                case .categorical:
                    guard hasFeature(f, words[w]) else { return false }
                    w += 1
                case .bucketized:
                    guard words[w] == LabelledPass.noneWord || hasFeature(f, words[w]) else { return false }
                    w += 1
                case .number:
                    w += 1
                case .multi:
                    let n = Int(words[w])
                    guard n <= words.count - w - 1 else { return false }
                    for k in 0..<n where !hasFeature(f, words[w + 1 + k]) { return false }
                    w += 1 + n
                }
            }
            return w == words.count
        }
    }
}
