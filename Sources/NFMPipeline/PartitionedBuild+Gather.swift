import NFMFormat

extension PartitionedBuild {
    /// Writes every shard by gathering (see `InstanceTable`) and returns their records in order, or nil
    /// when the table cannot be used: some row is unsampleable, or the table exceeds the memory budget
    /// (`scatterShards` then places records into buckets). Fills the table from every partition's
    /// positives on `plan.threads` threads, then encodes the shards on as many. Same bytes as the scatter.
    static func gatherShards(
        _ plan: BuildPlan, _ merge: VocabularyMerge, _ scans: [PartitionScan], out: String, relay: ProgressRelay,
        trace: PhaseTrace? = nil
    ) throws -> [DatasetManifest.Shard]? {
        let layout = merge.layout
        let sizes = merge.vocabularies.map(\.count)
        guard let bytes = InstanceTable.bytes(plan: plan, layout: layout, vocabularySizes: sizes),
            bytes <= plan.memoryBudget
        else { return nil }
        let table = InstanceTable(plan: plan, layout: layout, vocabularySizes: sizes)
        let placed = LockedCounter()
        try ParallelTasks.forEach(count: scans.count, threads: plan.threads) { i in
            try table.fill(
                scans[i].rows, remaps: merge.remaps[i], keyRemap: merge.keyRemaps[i], rowOffset: merge.rowOffsets[i],
                sampler: merge.sampler, layout: layout)
            let done = placed.add(scans[i].positives * (plan.perPositive + 1))
            relay.report(.init(phase: .sample, done: done, total: layout.total, rows: nil))
        }
        trace?.mark("fill")
        let shards = BucketLayout(
            total: layout.total, boundaries: layout.boundaries, rowsPerShard: plan.definition.shardRows,
            capacity: max(layout.total, 1))
        let permutation = FeistelPermutation(count: UInt64(layout.total), seed: plan.seed)
        let rounds = FeistelPermutation.RoundTable(permutation)
        let offsets = layout.offsets.map { UInt32(truncatingIfNeeded: $0) }
        let labels = (plan.labels.positive.bitPattern, plan.labels.negative.bitPattern)
        let level = plan.definition.zstdLevel
        let records = try BucketReduce.writeShards(bucket: 0, layout: shards, directory: out, threads: plan.threads) {
            shard, scratch in
            try table.shardFile(
                shard.positions, permutation: permutation, rounds: rounds, featureOffsets: offsets, labels: labels,
                level: level, scratch: scratch)
        }
        relay.report(.init(phase: .write, done: layout.total, total: layout.total, rows: nil))
        return records
    }
}
