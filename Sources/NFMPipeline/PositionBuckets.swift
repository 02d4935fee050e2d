import NFMFormat

/// A build's instances held by position `p ∈ 0..<total`: bucket `⌊p / capacity⌋`, slot `p mod capacity`.
///
/// With one bucket (all instances fit in ½ of the memory budget) an instance goes straight to its slot
/// of `labels`/`features`. With several, it is appended as (slot, label bits, features) to its bucket's
/// spill, and `load(_:)` later scatters one bucket at a time into `labels`/`features`.
/// `capacity = max(1, ⌊budget / 2 / (4 · (fieldCount + 2))⌋)` instances (at most 2³² − 1); the spills' buffers share
/// another ¼ of the budget. The positions, not the buffers, decide the order: output never depends on
/// the budget.
struct PositionBuckets {
    let fieldCount: Int
    let total: Int
    /// Positions per bucket.
    let capacity: Int
    /// Number of buckets, `⌈total / capacity⌉`.
    let count: Int
    private let spills: [RecordSpill]
    /// Label bits of the loaded bucket, by slot.
    private(set) var labels: [UInt32]
    /// Global feature indices of the loaded bucket, `fieldCount` per slot.
    private(set) var features: [UInt32]

    /// All instances go straight to their slot (one bucket).
    var isDirect: Bool { count == 1 }

    init(total: Int, fieldCount: Int, memoryBudget: Int, scratchDirectory: String) {
        let width = fieldCount + 2
        self.fieldCount = fieldCount
        self.total = total
        capacity = min(max(1, memoryBudget / 2 / (width * 4)), Int(UInt32.max))  // slots are stored as UInt32
        count = (total + capacity - 1) / capacity
        let count = count
        spills =
            count == 1
            ? []
            : (0..<count).map { b in
                RecordSpill(
                    recordWidth: width, memoryLimit: max(width * 4, memoryBudget / (4 * count)),
                    path: scratchDirectory + "/bucket-\(b)")
            }
        labels = [UInt32](repeating: 0, count: min(capacity, total))
        features = [UInt32](repeating: 0, count: min(capacity, total) * fieldCount)
    }

    /// Puts an instance at `position`. `instance` is the record (slot, label bits, features…); its slot
    /// word is filled in here.
    @inline(__always)
    mutating func place(_ instance: inout [UInt32], label: UInt32, at position: Int) throws {
        if spills.isEmpty {
            labels[position] = label
            for f in 0..<fieldCount { features[position * fieldCount + f] = instance[2 + f] }
            return
        }
        instance[0] = UInt32(position % capacity)
        instance[1] = label
        try instance.withUnsafeBufferPointer { try spills[position / capacity].append($0) }
    }

    /// Makes bucket `bucket` the loaded one (reading back its spill) and returns its positions.
    mutating func load(_ bucket: Int) throws -> Range<Int> {
        let base = bucket * capacity
        let positions = base..<min(base + capacity, total)
        guard !spills.isEmpty else { return positions }
        let width = fieldCount + 2
        try spills[bucket].drain { chunk in
            var start = 0
            while start < chunk.count {
                let slot = Int(chunk[start])
                labels[slot] = chunk[start + 1]
                for f in 0..<fieldCount { features[slot * fieldCount + f] = chunk[start + 2 + f] }
                start += width
            }
        }
        return positions
    }
}
