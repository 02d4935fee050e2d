import NFMFormat

/// Pass 2 of a build (SPEC §3–4): replays the spilled positives in file order, draws each one's
/// negatives from its row's seeded stream, and gives instance `g` (positives in file order, each
/// followed by its negatives) the position `π(g)` of a seeded Feistel permutation of `0..<N`.
///
/// A value type with `mutating` per-instance methods, so that its state needs no run-time exclusivity
/// checks. O(N) time; memory is that of the `PositionBuckets`.
struct PlacementPass {
    private let permutation: FeistelPermutation
    private let featureOffsets: [UInt32]
    private let unsampleableKeys: [Bool]
    private let labelPositive: UInt32
    private let labelNegative: UInt32
    private let fieldCount: Int
    private let corrupted: Int
    private let valueCount: Int
    private let progress: ((DatasetBuilder.Progress) -> Void)?
    /// Where the placed instances are.
    private(set) var buckets: PositionBuckets
    /// The instance being placed: slot, label bits, global feature indices.
    private var instance: [UInt32]
    private var drawn: [Int] = []
    /// `g`, the id of the next instance.
    private var nextID: UInt64 = 0
    private var row = 0

    private init(plan: BuildPlan, layout: DatasetLayout, scratchDirectory: String) {
        permutation = FeistelPermutation(count: UInt64(layout.total), seed: plan.seed)
        featureOffsets = layout.offsets.map { UInt32(truncatingIfNeeded: $0) }
        unsampleableKeys = layout.unsampleableKeys
        labelPositive = plan.labels.positive.bitPattern
        labelNegative = plan.labels.negative.bitPattern
        fieldCount = plan.fieldCount
        corrupted = plan.corrupted
        valueCount = layout.valueCount
        progress = plan.progress
        buckets = PositionBuckets(
            total: layout.total, fieldCount: plan.fieldCount, memoryBudget: plan.memoryBudget,
            scratchDirectory: scratchDirectory)
        instance = [UInt32](repeating: 0, count: plan.fieldCount + 2)
    }

    /// Runs the pass over `positives` and returns the placed instances.
    static func place(
        _ positives: RecordSpill, sampler: NegativeSampler, plan: BuildPlan, layout: DatasetLayout,
        scratchDirectory: String
    ) throws -> PositionBuckets {
        var pass = PlacementPass(plan: plan, layout: layout, scratchDirectory: scratchDirectory)
        try pass.run(positives, sampler)
        return pass.buckets
    }

    /// Places every positive of `positives` (records of local indices + rule-key id) and its negatives.
    private mutating func run(_ positives: RecordSpill, _ sampler: NegativeSampler) throws {
        try positives.drain { chunk in try place(chunk, sampler) }
        guard nextID == UInt64(buckets.total) else {
            throw NFMError(.sampling, "placed \(nextID) instances, expected \(buckets.total)")
        }
    }

    /// Places the positives of one chunk of whole records, each followed by its negatives.
    private mutating func place(_ chunk: UnsafeBufferPointer<UInt32>, _ sampler: NegativeSampler) throws {
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
            if row & 0xFFFF == 0, let progress {
                progress(.init(phase: .sample, done: Int(nextID), total: buckets.total, rows: row))
            }
        }
    }

    /// Places `instance` with `label` at `π(nextID)`.
    @inline(__always)
    private mutating func emit(_ label: UInt32) throws {
        let position = Int(permutation.position(of: nextID))
        nextID += 1
        try buckets.place(&instance, label: label, at: position)
    }
}
