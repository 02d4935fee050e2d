/// Draws the negatives of one positive (SPEC §3).
///
/// A negative replaces the corrupted field with a value drawn uniformly from that field's vocabulary,
/// rejecting values that the positive's rule key was ever seen with in a positive, and values already
/// drawn for this positive (negatives are distinct). After 64 rejected draws it switches to drawing
/// uniformly from the explicit list of allowed values, so a key that excludes almost every value costs
/// O(vocabulary) once instead of an unbounded loop. Rows whose key leaves fewer allowed values than the
/// negatives asked for are unsampleable: counted by the builder, never looped on.
struct NegativeSampler {
    let perPositive: Int
    let seed: UInt64

    /// Positive (key id, value) pairs.
    var excluded = UInt64Set(capacity: 1 << 16)
    /// Distinct excluded values per key id.
    var excludedCount: [Int32] = []
    /// The pairs frozen per key (a partitioned build's merge): used instead of `excluded` when `isFrozen`.
    private(set) var frozen = PairTable.empty
    /// A Bloom filter of `frozen`, asked before its binary search.
    private var filter = PairFilter.none
    private(set) var isFrozen = false

    init(perPositive: Int, seed: UInt64) {
        self.perPositive = perPositive
        self.seed = seed
    }

    /// A sampler over the frozen pairs `pairs`.
    init(perPositive: Int, seed: UInt64, pairs: PairTable) {
        self.init(perPositive: perPositive, seed: seed)
        frozen = pairs
        filter = PairFilter(pairs)
        isFrozen = true
    }

    /// Whether `key` was seen with `value` in a positive.
    @inline(__always) func isExcluded(key: Int, value: Int) -> Bool {
        if isFrozen { return filter.mayContain(key: key, value: value) && frozen.contains(key: key, value: value) }
        return excluded.contains(NegativeSampler.pair(key: key, value: value))
    }

    @inline(__always) static func pair(key: Int, value: Int) -> UInt64 {
        (UInt64(key) << 32 | UInt64(value)) &+ 1
    }

    /// Records that `key` was seen with `value` in a positive.
    @inline(__always) mutating func recordPositive(key: Int, value: Int) {
        while key >= excludedCount.count { excludedCount.append(0) }
        if excluded.insert(NegativeSampler.pair(key: key, value: value)) { excludedCount[key] += 1 }
    }

    func isSampleable(key: Int, valueCount: Int) -> Bool {
        valueCount - (isFrozen ? frozen.count(key: key) : Int(excludedCount[key])) >= perPositive
    }

    /// Prefetches (`CacheHint`) the filter words that the first `perPositive` draws of row `row` (key
    /// `key`) will test: a caller warms rows some way ahead of drawing them, so that their cache misses
    /// overlap with its work instead of coming one at a time. Changes nothing.
    @inline(__always) func warm(row: Int, key: Int, valueCount: Int) {
        guard isFrozen, valueCount > 0 else { return }
        var generator = SplitMix64(seed: seed, stream: RandomStream.negatives, index: UInt64(row))
        for _ in 0..<perPositive { filter.prefetch(key: key, value: Int(generator.below(UInt64(valueCount)))) }
    }

    /// Prefetches (`CacheHint`) what `warm` reads first for key `key`: its filter shape. Changes nothing.
    @inline(__always) func prefetchShape(key: Int) {
        if isFrozen { filter.prefetchShape(key: key) }
    }

    /// `draw(row:key:into:valueCount:)`'s values written to `out` (room for `perPositive`) when its first 64
    /// rejections are not reached — nearly always; false when they are (`out` is then garbage, and `draw`,
    /// which repeats these draws from the same stream and goes on, gives the values). No array, no
    /// allocation: the builder's per-row path.
    @inline(__always)
    func drawWithoutFallback(row: Int, key: Int, into out: UnsafeMutablePointer<UInt32>, valueCount: Int) -> Bool {
        var generator = SplitMix64(seed: seed, stream: RandomStream.negatives, index: UInt64(row))
        var (drawn, rejections) = (0, 0)
        while drawn < perPositive {
            let value = Int(generator.below(UInt64(valueCount)))
            var repeated = false
            for j in 0..<drawn where out[j] == UInt32(truncatingIfNeeded: value) { repeated = true }
            if repeated || isExcluded(key: key, value: value) {
                rejections += 1
                if rejections == 64 { return false }
                continue
            }
            out[drawn] = UInt32(truncatingIfNeeded: value)
            drawn += 1
        }
        return true
    }

    /// Draws `perPositive` distinct allowed values (of `0..<valueCount`) for positive row `row` with rule
    /// key `key` into `out`.
    func draw(row: Int, key: Int, into out: inout [Int], valueCount: Int) {
        out.removeAll(keepingCapacity: true)
        var generator = SplitMix64(seed: seed, stream: RandomStream.negatives, index: UInt64(row))
        var rejections = 0
        while out.count < perPositive {
            let value = Int(generator.below(UInt64(valueCount)))
            if isExcluded(key: key, value: value) || out.contains(value) {
                rejections += 1
                if rejections == 64 { break }
                continue
            }
            out.append(value)
        }
        if out.count == perPositive { return }
        var allowed: [Int] = []
        for value in 0..<valueCount
        where !isExcluded(key: key, value: value) && !out.contains(value) {
            allowed.append(value)
        }
        while out.count < perPositive {
            let pick = Int(generator.below(UInt64(allowed.count)))
            out.append(allowed.remove(at: pick))
        }
    }
}
