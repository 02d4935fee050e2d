import NFMFormat

/// The merge step of a partitioned build: the partitions' local statistics, in partition (= input)
/// order, turned into the single-pass build's global numbering.
///
/// Field `f`'s global vocabulary is partition 0's values in their order, then partition 1's values not
/// seen before in theirs, and so on: first appearance over the whole input, as a single pass numbers
/// them; counts add up. Rule keys likewise (tuples of global indices), and the positive (key, value)
/// pairs are re-keyed into one `PairTable`. Each partition gets remap tables (local → global index
/// per field and per key), the global index of its first positive (`rowOffsets`) and of its first
/// instance (`instanceOffsets`: a positive is followed by `perPositive` negatives unless its key is
/// unsampleable). O(distinct values + distinct keys and pairs) time, independent of the rows.
///
/// The first bad row in partition order is thrown here, at its input line (the partition's local line
/// plus the lines of the earlier partitions of the same input), with the message of a single pass.
struct VocabularyMerge {
    /// The global vocabularies, by field.
    private(set) var vocabularies: [Vocabulary]
    /// `remaps[i][f][local]`: the global index of partition `i`'s local value of field `f`.
    private(set) var remaps: [[[UInt32]]] = []
    /// `keyRemaps[i][local]`: the global rule-key id of partition `i`'s local key.
    private(set) var keyRemaps: [[UInt32]] = []
    /// The global positive pairs and the seed: draws the negatives.
    private(set) var sampler: NegativeSampler
    /// The global positive pairs, per key.
    let pairs: PairTable
    /// Offsets, counts, split boundaries.
    let layout: DatasetLayout
    /// Global index of each partition's first positive.
    let rowOffsets: [Int]
    /// Global id of each partition's first instance.
    let instanceOffsets: [Int]

    /// Merges `scans` (one per partition of `partitions`, in order). Throws the first bad row (`.input`),
    /// `.input` when no row is valid, and what `DatasetLayout` throws.
    init(plan: BuildPlan, partitions: [BuildPartition], scans: [PartitionScan], inputNames: [String]) throws {
        try VocabularyMerge.throwFirstBadRow(partitions, scans, inputNames)
        var counts = DatasetManifest.Counts()
        for scan in scans {
            counts.rowsRead += scan.rowsRead
            counts.rowsRejected += scan.rowsRejected
            counts.positives += scan.positives
        }
        guard counts.positives > 0 else {
            throw NFMError(.input, "no valid data rows (read \(counts.rowsRead))", at: .init(file: plan.inputName))
        }
        var tables = try Tables(fields: VocabularyMerge.mergeFields(scans, fieldCount: plan.fieldCount, threads: plan.threads))
        var keys = Vocabulary(capacity: 1 << 12)
        for i in scans.indices { tables.mergeKeys(scans[i], i, plan, &keys) }
        (vocabularies, remaps, keyRemaps) = (tables.vocabularies, tables.remaps, tables.keyRemaps)
        let pairs = PairTable(keyCount: keys.count, parts: scans.count, threads: plan.threads) { i, yield in
            let (keyRemap, values) = (tables.keyRemaps[i], tables.remaps[i][plan.corrupted])
            for pair in scans[i].pairs { yield(Int(keyRemap[Int(pair >> 32)]), values[Int(pair & 0xFFFF_FFFF)]) }
        }
        self.pairs = pairs
        sampler = NegativeSampler(perPositive: plan.perPositive, seed: plan.seed, pairs: pairs)
        let layout = try DatasetLayout(
            plan: plan, counts: counts, vocabularySizes: tables.vocabularies.map(\.count), keyCounts: keys.counts,
            sampler: sampler)
        self.layout = layout
        var rowOffsets: [Int] = []
        var instanceOffsets: [Int] = []
        var (row, instance) = (0, 0)
        for (i, scan) in scans.enumerated() {
            rowOffsets.append(row)
            instanceOffsets.append(instance)
            var unsampleable = 0
            for local in 0..<scan.keyValues.count where layout.unsampleableKeys[Int(tables.keyRemaps[i][local])] {
                unsampleable += scan.keyValues.counts[local]
            }
            row += scan.positives
            instance += scan.positives + plan.perPositive * (scan.positives - unsampleable)
        }
        self.rowOffsets = rowOffsets
        self.instanceOffsets = instanceOffsets
    }

    /// Each field's global vocabulary and its remap table for every partition (`[partition][local]`),
    /// fields merged on up to `threads` threads (each field's partitions in order, as a single pass).
    static func mergeFields(_ scans: [PartitionScan], fieldCount: Int, threads: Int) throws -> [(Vocabulary, [[UInt32]])] {
        try ParallelTasks.map(count: fieldCount, threads: threads) { f -> (Vocabulary, [[UInt32]]) in
            var vocabulary = Vocabulary()
            var tables: [[UInt32]] = []
            for scan in scans {
                let local = scan.fieldValues[f]
                var table = [UInt32](repeating: 0, count: local.count)
                for index in 0..<local.count {
                    table[index] = UInt32(
                        truncatingIfNeeded: local.withValue(at: index) { vocabulary.encode($0, count: local.counts[index]) })
                }
                tables.append(table)
            }
            return (vocabulary, tables)
        }.map { try $0.get() }
    }

    /// Throws the first bad row of the partitions in order, at its line in its input.
    static func throwFirstBadRow(_ partitions: [BuildPartition], _ scans: [PartitionScan], _ names: [String]) throws {
        var lineOffset = 0
        for (i, scan) in scans.enumerated() {
            if i > 0 && partitions[i].input != partitions[i - 1].input { lineOffset = 0 }
            if let bad = scan.badRow {
                throw NFMError(
                    .input, file: names[partitions[i].input], line: bad.line + lineOffset, column: bad.column, bad.message)
            }
            lineOffset += scan.lines
        }
    }

    /// The line offset of each partition in its input (rejects and errors add it to local lines).
    static func lineOffsets(_ partitions: [BuildPartition], lines: [Int]) -> [Int] {
        var offsets: [Int] = []
        var offset = 0
        for i in partitions.indices {
            if i > 0 && partitions[i].input != partitions[i - 1].input { offset = 0 }
            offsets.append(offset)
            offset += lines[i]
        }
        return offsets
    }

}

/// The global numbering as partitions are merged into it, in order.
private struct Tables {
    var vocabularies: [Vocabulary]
    var remaps: [[[UInt32]]]
    var keyRemaps: [[UInt32]] = []

    /// The tables of merged fields (`VocabularyMerge.mergeFields`): `remaps[i][f]` from each field's tables.
    init(fields: [(Vocabulary, [[UInt32]])]) {
        vocabularies = fields.map(\.0)
        let partitions = fields.first?.1.count ?? 0
        remaps = (0..<partitions).map { i in fields.map { $0.1[i] } }
    }

    /// Re-keys partition `i`'s rule keys (tuples of local indices) globally (partitions in order).
    mutating func mergeKeys(_ scan: PartitionScan, _ i: Int, _ plan: BuildPlan, _ keys: inout Vocabulary) {
        let tables = remaps[i]
        var tuple = [UInt32](repeating: 0, count: plan.ruleKey.count)
        var table = [UInt32](repeating: 0, count: scan.keyValues.count)
        for local in 0..<scan.keyValues.count {
            scan.keyValues.withValue(at: local) { bytes in
                for (k, f) in plan.ruleKey.enumerated() {
                    var index: UInt32 = 0
                    for b in 0..<4 { index |= UInt32(bytes[4 * k + b]) << (8 * UInt32(b)) }
                    tuple[k] = tables[f][Int(index)]
                }
            }
            let global = tuple.withUnsafeBytes { keys.encode($0.bindMemory(to: UInt8.self), count: scan.keyValues.counts[local]) }
            table[local] = UInt32(truncatingIfNeeded: global)
        }
        keyRemaps.append(table)
    }
}
