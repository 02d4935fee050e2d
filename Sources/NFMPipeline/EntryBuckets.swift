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
    }

    /// Puts `record` (slot word first, filled in here) at `position`.
    @inline(__always)
    mutating func place(_ record: inout [UInt32], at position: Int) throws {
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
        let positions = base..<min(base + capacity, total)
        var words: [UInt32] = []
        var ranges = [Range<Int>](repeating: 0..<0, count: positions.count)
        var filled = 0
        for part in parts {
            try part.spills[bucket].forEachRecord { record in
                let slot = Int(record[0])
                guard slot < ranges.count else { throw NFMError(.io, "scratch bucket \(bucket) holds slot \(slot) of \(ranges.count)") }
                words.append(contentsOf: record.dropFirst())
                ranges[slot] = words.count - record.count + 1..<words.count
                filled += 1
            }
            part.spills[bucket].removeAll()
        }
        guard filled == positions.count else {
            throw NFMError(.sampling, "bucket \(bucket) holds \(filled) instances, expected \(positions.count)")
        }
        return (positions, words, ranges)
    }
}
