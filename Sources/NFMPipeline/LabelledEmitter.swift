import NFMFormat

/// The last stage of a labelled build: empties the entry buckets in position order into the three split
/// writers (positions `0..<b₀` train, `b₀..<b₁` validation, the rest test), applying each standardized
/// field's train statistics, x ↦ Float((x − μ) / σ). Shards use the fixed layout when every field is one-hot
/// (`DatasetDefinition.isOneHot`), the sparse layout with values otherwise.
struct LabelledEmitter {
    let layout: ShardBlock.Layout
    private let writers: [ShardWriter]
    private let boundaries: (Int, Int)
    /// Global index of each standardized field's value feature → (μ, σ).
    private let standardize: [UInt32: (mean: Double, stddev: Double)]
    private let progress: ((DatasetBuilder.Progress) -> Void)?

    init(plan: BuildPlan, layout: LabelledLayout, statistics: [Int: (mean: Double, stddev: Double)], directory: String) throws {
        let shardLayout: ShardBlock.Layout = plan.definition.isOneHot ? .fixed : .sparse
        self.layout = shardLayout
        writers = try Split.allCases.map { split in
            try ShardWriter(
                directory: directory, split: split, layout: shardLayout, fieldCount: plan.fieldCount,
                rowsPerShard: plan.definition.shardRows, level: plan.definition.zstdLevel, threads: plan.threads)
        }
        boundaries = layout.boundaries
        standardize = LabelledEmitter.standardize(layout, statistics)
        progress = plan.progress
    }

    /// Writes every instance of `buckets` and finishes the writers; returns the shards written.
    func emit(_ buckets: EntryBuckets) throws -> [DatasetManifest.Shard] { try emit([buckets]) }

    /// Writes every instance of the partitions' `parts` (same positions) and finishes the writers.
    func emit(_ parts: [EntryBuckets]) throws -> [DatasetManifest.Shard] {
        let buckets = parts[0]
        var indices: [UInt32] = []
        var values: [Float] = []
        for bucket in 0..<buckets.count {
            let (positions, words, ranges) = try EntryBuckets.load(bucket, from: parts)
            for (slot, position) in positions.enumerated() {
                let split = position < boundaries.0 ? 0 : position < boundaries.1 ? 1 : 2
                let range = ranges[slot]
                let label = entries(words, range, into: &indices, &values)
                if layout == .fixed {
                    try indices.withUnsafeBufferPointer { try writers[split].append(label: label, features: $0) }
                } else {
                    try writers[split].append(label: label, indices: indices, values: values)
                }
            }
            progress?(.init(phase: .write, done: positions.upperBound, total: buckets.total, rows: nil))
        }
        var shards: [DatasetManifest.Shard] = []
        for writer in writers { shards += try writer.finish() }
        return shards
    }

    /// Standardizes with `statistics` (global index of each standardized field's value feature → (μ, σ)).
    init(layout: ShardBlock.Layout, boundaries: (Int, Int), standardize: [UInt32: (mean: Double, stddev: Double)]) {
        self.layout = layout
        writers = []
        self.boundaries = boundaries
        self.standardize = standardize
        progress = nil
    }

    /// Global index of each standardized field's value feature → its (μ, σ).
    static func standardize(_ layout: LabelledLayout, _ statistics: [Int: (mean: Double, stddev: Double)])
        -> [UInt32: (mean: Double, stddev: Double)]
    {
        var standardize: [UInt32: (mean: Double, stddev: Double)] = [:]
        for (f, stats) in statistics { standardize[UInt32(layout.offsets[f])] = stats }
        return standardize
    }

    /// The label of the record `words[range]` (label bits, then entries; see `EntryBuckets`); its features
    /// into `indices` and `values` (emptied first), standardized values applied.
    @inline(__always)
    func entries(_ words: [UInt32], _ range: Range<Int>, into indices: inout [UInt32], _ values: inout [Float]) -> Float {
        let label = Float(bitPattern: words[range.lowerBound])
        indices.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        var e = range.lowerBound + 1
        while e < range.upperBound {
            let word = words[e]
            if word & EntryBuckets.unitValue != 0 {
                indices.append(word & ~EntryBuckets.unitValue)
                values.append(1)
                e += 1
            } else {
                indices.append(word)
                values.append(e + 1 < range.upperBound ? value(of: word, Float(bitPattern: words[e + 1])) : 0)
                e += 2
            }
        }
        return label
    }

    @inline(__always)
    private func value(of index: UInt32, _ x: Float) -> Float {
        guard !standardize.isEmpty, let stats = standardize[index] else { return x }
        return Float((Double(x) - stats.mean) / stats.stddev)
    }
}
