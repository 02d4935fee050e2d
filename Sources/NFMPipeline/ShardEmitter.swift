import NFMFormat

/// The last stage of a build: empties the position buckets in position order into the three split
/// writers. Positions `0..<b₀` are train, `b₀..<b₁` validation and the rest test, with `(b₀, b₁)` from
/// `DatasetBuilder.splitBoundaries`, so the order inside each split is the permutation order.
struct ShardEmitter {
    private let writers: [ShardWriter]
    private let boundaries: (Int, Int)
    private let progress: ((DatasetBuilder.Progress) -> Void)?

    /// Opens one fixed-layout writer per split in `directory`.
    init(plan: BuildPlan, layout: DatasetLayout, directory: String) throws {
        writers = try Split.allCases.map { split in
            try ShardWriter(
                directory: directory, split: split, layout: .fixed, fieldCount: plan.fieldCount,
                rowsPerShard: plan.definition.shardRows, level: plan.definition.zstdLevel, threads: plan.threads)
        }
        boundaries = layout.boundaries
        progress = plan.progress
    }

    /// Writes every instance of `buckets` and finishes the writers; returns the shards written.
    func emit(_ buckets: inout PositionBuckets) throws -> [DatasetManifest.Shard] {
        let fieldCount = buckets.fieldCount
        for bucket in 0..<buckets.count {
            let positions = try buckets.load(bucket)
            try buckets.features.withUnsafeBufferPointer { all in
                for (slot, position) in positions.enumerated() {
                    let split = position < boundaries.0 ? 0 : position < boundaries.1 ? 1 : 2
                    try writers[split].append(
                        label: Float(bitPattern: buckets.labels[slot]),
                        features: UnsafeBufferPointer(rebasing: all[slot * fieldCount..<(slot + 1) * fieldCount]))
                }
            }
            progress?(.init(phase: .write, done: positions.upperBound, total: buckets.total, rows: nil))
        }
        var shards: [DatasetManifest.Shard] = []
        for writer in writers { shards += try writer.finish() }
        return shards
    }
}
