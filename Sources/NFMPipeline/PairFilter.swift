import NFMFormat

/// A Bloom filter of a `PairTable`, one block per key sized to the key's values: answers most "was `key`
/// seen with `value`?" questions of negative sampling from one or two cache lines, leaving the binary
/// search of the table to the values it cannot rule out.
///
/// Key `k` with `n` values owns `m = 2^⌈log₂ max(64, 16n)⌉` bits starting at bit `64 · first(k)`; value `v`
/// sets bits `h₁(v)` and `h₂(v)` (the top `log₂ m` bits of `v` times two odd 64-bit constants).
/// `mayContain` is false only when one of them is clear, so it never answers false for a pair of the table
/// (no false negatives; false positives ≈ (1 − e^(−2n/m))² ≤ 5 %). Built only when its words and the
/// per-key shapes take at most the table's own 4 bytes a pair (or 1 MiB), else `isEmpty` and every
/// question goes to the table.
struct PairFilter: Sendable {
    private let words: [UInt64]
    /// Per key: `first << 6 | log₂ m`.
    private let shapes: [UInt64]

    /// No filter: `mayContain` is always true.
    static let none = PairFilter(words: [], shapes: [])

    private init(words: [UInt64], shapes: [UInt64]) {
        self.words = words
        self.shapes = shapes
    }

    /// log₂ of the bits of a key of `n` values: ⌈log₂ max(64, 16n)⌉.
    static func log2Bits(values n: Int) -> Int {
        var log2 = 6
        while (1 << log2) < 16 * n && log2 < 40 { log2 += 1 }
        return log2
    }

    /// The filter of `table`, or `.none` when it would take more than `max(4 · pairs, 1 MiB)` bytes.
    init(_ table: PairTable) {
        let keys = table.keyCount
        var shapes = [UInt64](repeating: 0, count: keys)
        var first = 0
        for key in 0..<keys {
            let log2 = PairFilter.log2Bits(values: table.count(key: key))
            shapes[key] = UInt64(first) << 6 | UInt64(log2)
            first += (1 << log2) / 64
        }
        guard keys > 0, 8 * (first + keys) <= max(4 * table.values.count, 1 << 20) else {
            self = .none
            return
        }
        var words = [UInt64](repeating: 0, count: first)
        for key in 0..<keys {
            for i in table.offsets[key]..<table.offsets[key + 1] {
                let (a, b) = PairFilter.bits(table.values[i], shapes[key])
                words[a >> 6] |= 1 << UInt64(a & 63)
                words[b >> 6] |= 1 << UInt64(b & 63)
            }
        }
        self.init(words: words, shapes: shapes)
    }

    /// Whether the filter holds nothing (every question answered "maybe").
    var isEmpty: Bool { words.isEmpty }

    /// The two bits (numbers into `words`) of `value` in the block of a key of shape `shape`.
    @inline(__always) static func bits(_ value: UInt32, _ shape: UInt64) -> (Int, Int) {
        let log2 = shape & 63
        let base = Int(truncatingIfNeeded: shape >> 6) << 6
        let h1 = (UInt64(value) &+ 1) &* 0x9E37_79B9_7F4A_7C15
        let h2 = (UInt64(value) &+ 1) &* 0xC2B2_AE3D_27D4_EB4F
        return (base + Int(truncatingIfNeeded: h1 >> (64 - log2)), base + Int(truncatingIfNeeded: h2 >> (64 - log2)))
    }

    /// False when `key` (< the table's key count) was certainly never seen with `value`; true when it may
    /// have been (or the filter is empty).
    @inline(__always) func mayContain(key: Int, value: Int) -> Bool {
        guard !words.isEmpty else { return true }
        guard value >= 0, value <= Int(UInt32.max) else { return false }
        let (a, b) = PairFilter.bits(UInt32(truncatingIfNeeded: value), shapes[key])
        return words.withUnsafeBufferPointer { words in
            words[a >> 6] >> UInt64(a & 63) & 1 != 0 && words[b >> 6] >> UInt64(b & 63) & 1 != 0
        }
    }

    /// Prefetches `key`'s shape (read by `prefetch(key:value:)` and `mayContain`): issued ahead of them when
    /// the shapes outgrow the caches (10 M-row synthetic log: 100 k keys, 800 KB of shapes).
    @inline(__always) func prefetchShape(key: Int) {
        guard !words.isEmpty, key >= 0, key < shapes.count else { return }
        shapes.withUnsafeBufferPointer { CacheHint.prefetch($0.baseAddress! + key) }
    }

    /// Prefetches the words that hold `value`'s bits in `key`'s block (nothing when the filter is empty):
    /// issued ahead of `mayContain`, it starts their cache misses early.
    @inline(__always) func prefetch(key: Int, value: Int) {
        guard !words.isEmpty, value >= 0, value <= Int(UInt32.max) else { return }
        let (a, b) = PairFilter.bits(UInt32(truncatingIfNeeded: value), shapes[key])
        words.withUnsafeBufferPointer {
            CacheHint.prefetch($0.baseAddress! + (a >> 6))
            CacheHint.prefetch($0.baseAddress! + (b >> 6))
        }
    }
}
