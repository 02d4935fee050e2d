import NFMFormat

/// The merge step of a sharded merge (`plan --merge-shards R`, R > 1): combines the R merge shards'
/// outputs (`MergeShardStep`) with the partitions' `SSCN` summaries into the files the place, reduce and
/// finish steps read — the same numbering as `VocabularyMerge`, without looking at a value's bytes.
///
/// 1. The first bad row in partition order is thrown (as `nfm build`); counts add up.
/// 2. Per field f and partition p, the R shards' "new here" lists are OR-ed into a `NewValueBitmap`;
///    `offset(f, p)` = Σ_{q<p} new(f, q) and `|V_f|` = Σ_p new(f, p).
/// 3. Per partition p: the remap table of field f maps a new local value l to `offset(f, p) + rank(l)` and
///    an earlier one, through its shard's reference (p′, l′), to `offset(f, p′) + rank_{p′}(l′)`; written
///    to `merge/remap-p.bin` (`RMAP`, as the unsharded merge). Rule keys are re-keyed as there (one-field
///    rule: the key field's table).
/// 4. The positive pairs with global ids give the `PairTable`, the unsampleable keys, `DatasetLayout`, the
///    row and instance offsets; `merge/state.bin` (`MRGE`) holds all but the pairs, and `merge/pairs-p.bin`
///    (`PAIR`) holds, for partition p, only the pairs of the keys p holds (or refers to the whole table in
///    `merge/pairs.bin` when those are most of it).
///
/// Work: O(P × F + bitmap words) for steps 1–2; step 3 is O(Σ local values) integer work (one rank per
/// value, no hashing or value bytes); step 4 is O(Σ local keys + Σ local pairs), as unsharded (a rule of
/// several fields hashes its key tuples). Memory: the bitmaps (≈ 1.5 bits per local value), the key
/// tables and the global pairs.
enum ShardedMerge {
    /// Runs the merge, resolving up to `threads` partitions' tables at once (the output does not depend on
    /// it); returns the number of buckets and of instances.
    static func run(_ context: StepContext, threads: Int = 1) throws -> (buckets: Int, instances: Int) {
        let plan = context.plan
        let scans = try context.partitions.indices.map { try ShardedScan.read(context, partition: $0) }
        try VocabularyMerge.throwFirstBadRow(context.partitions, scans.map(\.scan), context.inputNames)
        var counts = DatasetManifest.Counts()
        for s in scans {
            counts.rowsRead += s.scan.rowsRead
            counts.rowsRejected += s.scan.rowsRejected
            counts.positives += s.scan.positives
        }
        guard counts.positives > 0 else {
            throw NFMError(.input, "no valid data rows (read \(counts.rowsRead))", at: .init(file: plan.inputName))
        }
        let files = try MergeShardStep.open(context)
        let bitmaps = try newValues(context, localCounts: scans.map(\.localCounts), files: files).new
        let offsets = bitmaps.map { field in field.reduce(into: [0]) { $0.append($0[$0.count - 1] + $1.newCount) } }
        var keys = GlobalKeys(plan: plan, keyFieldSize: plan.ruleKey.count == 1 ? offsets[plan.ruleKey[0]].last ?? 0 : 0)
        var pairs: [UInt64] = []
        try forEachPartition(context, threads: threads) { p in
            try remapTables(context, partition: p, bitmaps: bitmaps, offsets: offsets, files: files)
        } then: { p, remaps in
            let keyRemap = keys.add(scans[p].scan.keyValues, tables: remaps)
            for pair in scans[p].scan.pairs {
                pairs.append(UInt64(keyRemap[Int(pair >> 32)]) << 32 | UInt64(remaps[plan.corrupted][Int(pair & 0xFFFF_FFFF)]))
            }
            var remap = StepWriter()
            remap.u64(remaps.count)
            for table in remaps { remap.words(table) }
            remap.words(keyRemap)
            try StepFile.write(remap, kind: "RMAP", plan: context.id, to: context.steps + "/merge/remap-\(p).bin")
        }
        let table = PairTable(keyCount: keys.count) { yield in
            for pair in pairs { yield(Int(pair >> 32), UInt32(truncatingIfNeeded: pair)) }
        }
        pairs = []
        let layout = try DatasetLayout(
            plan: plan, counts: counts, vocabularySizes: offsets.map { $0.last ?? 0 }, keyCounts: keys.counts,
            sampler: NegativeSampler(perPositive: plan.perPositive, seed: plan.seed, pairs: table))
        let state = try finishState(context, scans, keys, table, layout)
        return (context.buckets(state).count, layout.total)
    }

    /// `then(p, resolve(p))` for every partition p in order, `resolve` running for up to `threads`
    /// partitions at once (batches of `threads`); throws the first error in partition order.
    static func forEachPartition(
        _ context: StepContext, threads: Int, resolve: (Int) throws -> [[UInt32]],
        then: (Int, [[UInt32]]) throws -> Void
    ) throws {
        let batch = max(threads, 1)
        for start in stride(from: 0, to: context.partitions.count, by: batch) {
            let end = min(start + batch, context.partitions.count)
            let results = ParallelTasks.map(count: end - start, threads: batch) { try resolve(start + $0) }
            for (i, result) in results.enumerated() { try then(start + i, try result.get()) }
        }
    }

    /// Row and instance offsets, the per-partition pair files and `merge/state.bin`.
    private static func finishState(
        _ context: StepContext, _ scans: [ShardedScan], _ keys: GlobalKeys, _ table: PairTable, _ layout: DatasetLayout
    ) throws -> MergeState {
        var rowOffsets: [Int] = []
        var instanceOffsets: [Int] = []
        var (row, instance) = (0, 0)
        for (p, s) in scans.enumerated() {
            rowOffsets.append(row)
            instanceOffsets.append(instance)
            var unsampleable = 0
            for local in 0..<s.scan.keyValues.count where layout.unsampleableKeys[Int(keys.remaps[p][local])] {
                unsampleable += s.scan.keyValues.counts[local]
            }
            row += s.scan.positives
            instance += s.scan.positives + context.plan.perPositive * (s.scan.positives - unsampleable)
        }
        try PartitionPairs.write(context, keys: keys.remaps, table: table)
        let state = MergeState(
            layout: layout, pairs: .empty, rowOffsets: rowOffsets, instanceOffsets: instanceOffsets,
            lines: scans.map(\.scan.lines),
            capacity: min(max(1, context.plan.memoryBudget / 2 / ((context.plan.fieldCount + 2) * 4)), Int(UInt32.max)))
        try StepFile.write(StepCodec.encode(state), kind: "MRGE", plan: context.id, to: context.steps + "/merge/state.bin")
        return state
    }

    /// `new[f][p]`: the OR of every shard's "new here" lists of field f in partition p, sealed; `kept[f][p]`
    /// likewise for a labelled definition's kept lists (each a subset of the new ones; else empty).
    /// `localCounts[p][f]`: partition p's local values of field f.
    static func newValues(_ context: StepContext, localCounts: [[Int]], files: [SlicedStepFile.Reader]) throws
        -> (new: [[NewValueBitmap]], kept: [[NewValueBitmap]])
    {
        let labelled = context.plan.definition.label != nil
        var new = (0..<context.plan.fieldCount).map { f in localCounts.map { NewValueBitmap(count: $0[f]) } }
        var kept = labelled ? new : []
        for shard in 0..<context.mergeShards {
            let lists = try MergeShardStep.readNew(context, shard: shard, file: files[shard])
            let stale = NFMError(
                .dataset, "stale merge shard: a new value out of range or claimed twice",
                at: .init(file: MergeShardStep.path(context, shard)))
            for p in lists.new.indices {
                for f in lists.new[p].indices {
                    for l in lists.new[p][f] where !new[f][p].insert(Int(l)) { throw stale }
                    guard labelled else { continue }
                    for l in lists.kept[p][f] where !new[f][p].contains(Int(l)) || !kept[f][p].insert(Int(l)) { throw stale }
                }
            }
        }
        for f in new.indices {
            for p in new[f].indices {
                new[f][p].seal()
                if labelled { kept[f][p].seal() }
            }
        }
        return (new, kept)
    }

    /// Partition `partition`'s local → global table of every field (see the type, step 3).
    private static func remapTables(
        _ context: StepContext, partition p: Int, bitmaps: [[NewValueBitmap]], offsets: [[Int]],
        files: [SlicedStepFile.Reader]
    ) throws -> [[UInt32]] {
        try resolve(context, partition: p, new: bitmaps, files: files) { f, first, local in
            UInt32(truncatingIfNeeded: offsets[f][first] + bitmaps[f][first].rank(local))
        }
    }

    /// Partition `partition`'s tables: local value l of field f maps to `value(f, p′, l′)`, (p′, l′) being
    /// its first appearance — (p, l) itself when it is new here, else its shard's reference (checked: an
    /// earlier partition's new value). `.dataset` naming the shard file or `mshard/` when the shards'
    /// references do not cover each local value exactly once.
    static func resolve(
        _ context: StepContext, partition p: Int, new: [[NewValueBitmap]], files: [SlicedStepFile.Reader],
        value: (Int, Int, Int) -> UInt32
    ) throws -> [[UInt32]] {
        let unset = UInt32.max
        var tables = new.indices.map { f in [UInt32](repeating: unset, count: new[f][p].count) }
        for f in new.indices {
            for l in 0..<new[f][p].count where new[f][p].contains(l) { tables[f][l] = value(f, p, l) }
        }
        for shard in 0..<context.mergeShards {
            let refs = try MergeShardStep.readReferences(context, file: files[shard], partition: p)
            for f in refs.indices {
                var i = 0
                while i < refs[f].count {
                    let (l, first, firstLocal) = (Int(refs[f][i]), Int(refs[f][i + 1]), Int(refs[f][i + 2]))
                    guard l < tables[f].count, tables[f][l] == unset, first < p, new[f][first].contains(firstLocal) else {
                        throw NFMError(
                            .dataset, "stale merge shard: a reference of field \(f) in partition \(p) does not resolve",
                            at: .init(file: MergeShardStep.path(context, shard)))
                    }
                    tables[f][l] = value(f, first, firstLocal)
                    i += 3
                }
            }
        }
        guard tables.allSatisfy({ !$0.contains(unset) }) else {
            throw NFMError(
                .dataset, "the merge shards do not cover partition \(p)'s values (a missing or stale merge shard)",
                at: .init(file: context.steps + "/mshard"))
        }
        return tables
    }
}
