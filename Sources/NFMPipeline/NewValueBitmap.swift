/// The local values of one field of one partition that no earlier partition holds ("new here"), as a
/// bitmap over the local indices with a rank directory: the OR of the merge shards' lists.
///
/// `rank(l)` = number of new values with a local index below `l` = `ranks[l / 64] + popcount(bits[l / 64]
/// & (2^(l mod 64) − 1))`, O(1); a new value's global index is the field's offset of the partition (new
/// values of the earlier partitions) plus its rank. 1 bit + 0.5 bit (directory) per local value.
struct NewValueBitmap {
    private(set) var bits: [UInt64]
    private var ranks: [UInt32] = []
    /// Local values of the partition (bits).
    let count: Int
    /// New values (set bits), once `seal` has run.
    private(set) var newCount = 0

    /// No value new yet, over `count` local values.
    init(count: Int) {
        self.count = count
        bits = [UInt64](repeating: 0, count: (count + 63) / 64)
    }

    /// Marks `l` new; false when `l` is out of range or already marked.
    mutating func insert(_ l: Int) -> Bool {
        guard l >= 0, l < count, bits[l >> 6] & (1 << UInt64(l & 63)) == 0 else { return false }
        bits[l >> 6] |= 1 << UInt64(l & 63)
        return true
    }

    /// Builds the rank directory and the count (after every `insert`).
    mutating func seal() {
        ranks = [UInt32](repeating: 0, count: bits.count)
        var total = 0
        for (i, word) in bits.enumerated() {
            ranks[i] = UInt32(truncatingIfNeeded: total)
            total += word.nonzeroBitCount
        }
        newCount = total
    }

    /// Whether `l` is new.
    @inline(__always) func contains(_ l: Int) -> Bool {
        l >= 0 && l < count && bits[l >> 6] & (1 << UInt64(l & 63)) != 0
    }

    /// New values with a local index below `l` (`0 ≤ l < count`).
    @inline(__always) func rank(_ l: Int) -> Int {
        Int(ranks[l >> 6]) + (bits[l >> 6] & ((1 << UInt64(l & 63)) &- 1)).nonzeroBitCount
    }
}
