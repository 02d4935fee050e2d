// SplitMix64 and the stream table live in NFMRandom, shared with the trainer's generators; re-exported so
// that clients of the builder (and its files) keep seeing them here.
@_exported import NFMRandom

/// A seeded pseudo-random permutation of `0..<count`, computed point-wise in O(1) memory.
///
/// An unbalanced Feistel network (4 rounds, SplitMix64 round function; Luby & Rackoff 1988) permutes
/// `0..<2^b`, the smallest power of two ≥ max(`count`, 4), as halves of ⌈b/2⌉ and ⌊b/2⌋ bits that swap each
/// round; values that land outside `0..<count` are walked again through the network (cycle walking,
/// Black & Rogaway 2002, < 2 passes on average), which keeps it a bijection on `0..<count`. Because
/// each instance's position is a pure function of its id, an external shuffle can scatter instances to
/// position-range buckets without sorting.
public struct FeistelPermutation: Sendable {
    /// The size of the permuted range `0..<count` (> 0).
    public let count: UInt64
    /// b: the network permutes `0..<2^b`.
    let bits: UInt64
    /// The four round keys.
    let keys: (UInt64, UInt64, UInt64, UInt64)

    /// The permutation of `0..<count` keyed by `seed` (four round keys from the `.permutation` stream).
    /// `count` must be positive (a precondition: callers check instance counts first).
    public init(count: UInt64, seed: UInt64) {
        precondition(count > 0)
        self.count = count
        var bits: UInt64 = 2
        while (1 as UInt64) << bits < count { bits += 1 }
        self.bits = bits
        var generator = SplitMix64(seed: seed, stream: RandomStream.permutation, index: 0)
        keys = (generator.next(), generator.next(), generator.next(), generator.next())
    }

    @inline(__always) private func round(_ left: inout UInt64, _ right: inout UInt64, _ leftBits: inout UInt64, _ key: UInt64) {
        // (L, R) → (R, L ⊕ F(R)): the new right half has the old left half's width.
        let next = left ^ (SplitMix64.mix(right ^ key) & ((1 << leftBits) - 1))
        left = right
        right = next
        leftBits = bits - leftBits
    }

    /// The image of `value` (< `count`): its position in the permuted order. O(1) expected: 4 rounds per
    /// pass, fewer than 2 passes on average.
    @inline(__always) public func position(of value: UInt64) -> UInt64 {
        precondition(value < count)
        var x = value
        repeat {
            var leftBits = bits - bits / 2
            var right = x & ((1 << (bits / 2)) - 1)
            var left = x >> (bits / 2)
            round(&left, &right, &leftBits, keys.0)
            round(&left, &right, &leftBits, keys.1)
            round(&left, &right, &leftBits, keys.2)
            round(&left, &right, &leftBits, keys.3)
            // After an even number of rounds the halves have their original widths again.
            x = left << (bits / 2) | right
        } while x >= count
        return x
    }
}
