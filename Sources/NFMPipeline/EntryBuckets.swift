import NFMFormat

/// A labelled build's instances held by position `p ∈ 0..<total`, for rows of varying length: bucket
/// `⌊p / capacity⌋` receives the record `[slot, label bits, entries…]` with `slot = p mod capacity`, and
/// `load(_:)` gives one bucket back indexed by slot. An entry is `index | unitValue` when its value is 1
/// (most are: categorical and multi-hot features), else the two words `index, value bits`; labelled
/// builds keep feature indices below 2³¹ so the flag bit is free.
///
/// `capacity = max(1, ⌊budget / 2 / (4 · w)⌋)` positions with `w = 4 + 2 · (entries / rows)` words per
/// record on average (positions are a random permutation, so buckets fill evenly); a single bucket keeps
/// up to ½ of the budget in memory, several share ¼ for their write buffers. The positions, not the
/// buffers, decide the order: output never depends on the budget.
struct EntryBuckets {
    /// The flag of an entry whose value is 1 and has no value word.
    static let unitValue: UInt32 = 1 << 31
    let total: Int
    /// Positions per bucket.
    let capacity: Int
    /// Number of buckets, `⌈total / capacity⌉`.
    let count: Int
    private let spills: [WordSpill]
    /// Shard-aligned buckets (the step build's `BucketLayout`) instead of `capacity`-wide ones.
    private let aligned: BucketLayout?

    /// Buckets for `total` instances holding `entries` entries in all. With `partition` set, the buckets of
    /// one of `partitions` partitions placing into the same positions (their memory shares divided by
    /// `partitions`, files `entries-i-b`); `load(_:from:)` then reads a bucket from all of them.
    init(
        total: Int, entries: Int, memoryBudget: Int, scratchDirectory: String, partition: Int? = nil, partitions: Int = 1
    ) {
        self.total = total
        let wordsPerRecord = 4 + 2 * (entries + total - 1) / max(total, 1)
        capacity = min(max(1, memoryBudget / 2 / (4 * wordsPerRecord)), Int(UInt32.max))
        count = max(1, (total + capacity - 1) / capacity)
        let limit = (count == 1 ? memoryBudget / 2 : memoryBudget / (4 * count)) / max(partitions, 1)
        let prefix = scratchDirectory + "/entries-" + (partition.map { "\($0)-" } ?? "")
        spills = (0..<count).map { b in WordSpill(memoryLimit: limit, path: prefix + "\(b)") }
        aligned = nil
    }

    /// Buckets kept in memory whose ranges are `layout`'s shard-aligned buckets (a place step: bucket
    /// `b` = `layout.bucket(of: p)`, slot `p − layout.starts[b]`).
    init(aligned layout: BucketLayout) {
        total = layout.total
        capacity = max(1, (0..<layout.count).map { layout.positions(of: $0).count }.max() ?? 1)
        count = layout.count
        spills = (0..<layout.count).map { _ in WordSpill(memoryLimit: 1 << 50, path: "") }
        aligned = layout
    }

    /// Bucket `bucket`'s records as one array of length-prefixed records (`WordSpill`'s layout).
    func words(of bucket: Int) throws -> [UInt32] {
        var out: [UInt32] = []
        try spills[bucket].forEachRecord { record in
            out.append(UInt32(truncatingIfNeeded: record.count))
            out += record
        }
        return out
    }

    /// Puts `record` (slot word first, filled in here) at `position`.
    @inline(__always)
    mutating func place(_ record: inout [UInt32], at position: Int) throws {
        if let aligned {
            let bucket = aligned.bucket(of: position)
            record[0] = UInt32(truncatingIfNeeded: position - aligned.starts[bucket])
            try record.withUnsafeBufferPointer { try spills[bucket].append($0) }
            return
        }
        record[0] = UInt32(truncatingIfNeeded: position % capacity)
        try record.withUnsafeBufferPointer { try spills[position / capacity].append($0) }
    }

    /// Bucket `bucket`'s records: its positions, the words of its records (without the slot word) and,
    /// per slot, the range of its record in those words. Frees the bucket's spill.
    func load(_ bucket: Int) throws -> (positions: Range<Int>, words: [UInt32], ranges: [Range<Int>]) {
        try EntryBuckets.load(bucket, from: [self])
    }

    /// Bucket `bucket`'s records from the buckets of every partition (same `total` and `capacity`), as
    /// `load(_:)`: each record carries its slot, so the order of the parts never changes the result.
    static func load(_ bucket: Int, from parts: [EntryBuckets]) throws
        -> (positions: Range<Int>, words: [UInt32], ranges: [Range<Int>])
    {
        let (capacity, total) = (parts[0].capacity, parts[0].total)
        let base = bucket * capacity
        var gather = Gather(bucket: bucket, positions: base..<min(base + capacity, total))
        for part in parts {
            try part.spills[bucket].forEachRecord { try gather.add($0) }
            part.spills[bucket].removeAll()
        }
        return try gather.finish()
    }

    /// Collects one bucket's records `[slot, label bits, entries…]` from its parts, in any order.
    struct Gather {
        let bucket: Int
        let positions: Range<Int>
        private(set) var words: [UInt32] = []
        private(set) var ranges: [Range<Int>]
        private var filled = 0

        init(bucket: Int, positions: Range<Int>) {
            self.bucket = bucket
            self.positions = positions
            ranges = [Range<Int>](repeating: 0..<0, count: positions.count)
        }

        /// Adds one record; `.io` when its slot is outside the bucket or it has no label word.
        mutating func add(_ record: UnsafeBufferPointer<UInt32>) throws {
            guard record.count >= 2, Int(record[0]) < ranges.count else {
                throw NFMError(.io, "bucket \(bucket) holds a record outside its \(ranges.count) slots")
            }
            words.append(contentsOf: record.dropFirst())
            ranges[Int(record[0])] = words.count - record.count + 1..<words.count
            filled += 1
        }

        /// The bucket's positions, words and per-slot ranges; `.sampling` when a slot is missing.
        func finish() throws -> (positions: Range<Int>, words: [UInt32], ranges: [Range<Int>]) {
            guard filled == positions.count else {
                throw NFMError(.sampling, "bucket \(bucket) holds \(filled) instances, expected \(positions.count)")
            }
            return (positions, words, ranges)
        }
    }

}
