import NFMFormat

/// Where placed instances go: records `(slot, label bits, fieldCount global indices)` of one bucket,
/// `slot` being the position minus the bucket's first. Records of a bucket may arrive in any order and
/// from several threads at once: the slots, not the arrival order, decide the output.
protocol BucketSink: AnyObject {
    /// Takes whole records of bucket `bucket`.
    func write(bucket: Int, records: UnsafeBufferPointer<UInt32>) throws
    /// The one bucket's contents when instances may be put straight into their slots (no records).
    var direct: BucketContents? { get }
}

extension BucketSink {
    var direct: BucketContents? { nil }
}

/// A few words of plain memory for a per-row loop (the record being encoded, the instance being
/// placed), written without the uniqueness checks of an array.
final class WordBuffer {
    let words: UnsafeMutableBufferPointer<UInt32>

    init(width: Int) {
        words = .allocate(capacity: width)
        words.initialize(repeating: 0)
    }

    deinit { words.deallocate() }
}

/// The place step of a partitioned build: partition `i`'s positives with global indices, each followed by
/// its negatives, every instance at its position.
///
/// Positive `r` of the partition is global row `rowOffsets[i] + r`, whose negatives come from that row's
/// seeded stream (`NegativeSampler.draw`); instance ids count on from `instanceOffsets[i]`, and instance
/// `g` goes to position `π(g)` of the seeded Feistel permutation of `0..<N` — exactly the single pass's
/// numbering, so the output does not depend on how the input was partitioned. Records are buffered per
/// bucket (8,192 words each) and handed to the sink. O(instances of the partition) time.
struct PartitionPlacement {
    private let permutation: FeistelPermutation
    private let featureOffsets: [UInt32]
    private let remaps: [[UInt32]]
    private let keyRemap: [UInt32]
    private let unsampleableKeys: [Bool]
    private let labelPositive: UInt32
    private let labelNegative: UInt32
    private let fieldCount: Int
    private let corrupted: Int
    private let valueCount: Int
    private let buckets: BucketLayout
    private let sink: any BucketSink
    private let direct: BucketContents?
    private var pending: [[UInt32]]
    private let instance: WordBuffer
    private var drawn: [Int] = []
    private var nextID: UInt64
    private var row: Int
    /// Instances placed so far.
    private(set) var placed = 0

    /// A placement of the partition whose remap tables are `remaps` (per field) and `keyRemap`, first
    /// positive `rowOffset` and first instance `instanceOffset`.
    init(
        plan: BuildPlan, layout: DatasetLayout, buckets: BucketLayout, remaps: [[UInt32]], keyRemap: [UInt32],
        rowOffset: Int, instanceOffset: Int, sink: any BucketSink
    ) {
        permutation = FeistelPermutation(count: UInt64(layout.total), seed: plan.seed)
        featureOffsets = layout.offsets.map { UInt32(truncatingIfNeeded: $0) }
        self.remaps = remaps
        self.keyRemap = keyRemap
        unsampleableKeys = layout.unsampleableKeys
        labelPositive = plan.labels.positive.bitPattern
        labelNegative = plan.labels.negative.bitPattern
        fieldCount = plan.fieldCount
        corrupted = plan.corrupted
        valueCount = layout.valueCount
        self.buckets = buckets
        self.sink = sink
        direct = sink.direct
        pending = [[UInt32]](repeating: [], count: direct == nil ? buckets.count : 0)
        instance = WordBuffer(width: plan.fieldCount + 2)
        nextID = UInt64(instanceOffset)
        row = rowOffset
    }

    /// Places every positive of `rows` (local indices + local key id) and its negatives, then flushes.
    mutating func run(_ rows: any RecordSource, sampler: NegativeSampler, onRows: ((Int) -> Void)? = nil) throws {
        try rows.drain { chunk in
            try place(chunk, sampler)
            onRows?(chunk.count / (fieldCount + 1))
        }
        for bucket in pending.indices where !pending[bucket].isEmpty { try flush(bucket) }
    }

    /// Places the positives of one chunk of whole records, each followed by its negatives.
    private mutating func place(_ chunk: UnsafeBufferPointer<UInt32>, _ sampler: NegativeSampler) throws {
        var start = 0
        let instance = self.instance.words
        while start < chunk.count {
            let key = Int(keyRemap[Int(chunk[start + fieldCount])])
            for f in 0..<fieldCount { instance[2 + f] = featureOffsets[f] &+ remaps[f][Int(chunk[start + f])] }
            try emit(labelPositive)
            if !unsampleableKeys[key] {
                sampler.draw(row: row, key: key, into: &drawn, valueCount: valueCount)
                for value in drawn {
                    instance[2 + corrupted] = featureOffsets[corrupted] &+ UInt32(truncatingIfNeeded: value)
                    try emit(labelNegative)
                }
            }
            row += 1
            start += fieldCount + 1
        }
    }

    /// Buffers `instance` with `label` for position `π(nextID)`, or puts it in its slot at once.
    @inline(__always)
    private mutating func emit(_ label: UInt32) throws {
        let position = Int(permutation.position(of: nextID))
        nextID += 1
        placed += 1
        let instance = self.instance.words
        guard direct == nil else {
            putDirect(position, label, instance)
            return
        }
        let bucket = buckets.bucket(of: position)
        instance[0] = UInt32(truncatingIfNeeded: position - buckets.starts[bucket])
        instance[1] = label
        pending[bucket].append(contentsOf: instance)
        if pending[bucket].count >= 8192 { try flush(bucket) }
    }

    /// One bucket holds every position: the instance goes straight to its slot.
    @inline(never)
    private func putDirect(_ position: Int, _ label: UInt32, _ instance: UnsafeMutableBufferPointer<UInt32>) {
        guard let direct else { return }
        direct.put(slot: position - direct.positions.lowerBound, label: label, features: UnsafePointer(instance.baseAddress! + 2))
    }

    private mutating func flush(_ bucket: Int) throws {
        try pending[bucket].withUnsafeBufferPointer { try sink.write(bucket: bucket, records: $0) }
        pending[bucket].removeAll(keepingCapacity: true)
    }
}
