/// SplitMix64 (Steele, Lea & Flood 2014): the seeded generator behind every random choice of the builder.
///
/// Streams are counter-based: `SplitMix64(seed:stream:index:)` derives an independent state for, say,
/// the negatives of positive row `index`, so results never depend on processing order, threads or buffers.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public init(seed: UInt64, stream: UInt64, index: UInt64) {
        state = SplitMix64.mix(seed ^ SplitMix64.mix(stream &+ 0x9E37_79B9_7F4A_7C15 &* (index &+ 1)))
    }

    @inline(__always) public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always) public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// Uniform integer in `0..<bound` (Lemire's multiply-and-reject: exact, no modulo bias).
    @inline(__always) public mutating func below(_ bound: UInt64) -> UInt64 {
        precondition(bound > 0)
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold { product = next().multipliedFullWidth(by: bound) }
        }
        return product.high
    }
}

/// Stream identifiers, so that different uses of one seed never share random numbers.
enum RandomStream {
    static let negatives: UInt64 = 1
    static let permutation: UInt64 = 2
}

/// A seeded pseudo-random permutation of `0..<count`, computed point-wise in O(1) memory.
///
/// An unbalanced Feistel network (4 rounds, SplitMix64 round function; Luby & Rackoff 1988) permutes
/// `0..<2^b`, the smallest power of two ≥ `count`, as halves of ⌈b/2⌉ and ⌊b/2⌋ bits that swap each
/// round; values that land outside `0..<count` are walked again through the network (cycle walking,
/// Black & Rogaway 2002, < 2 passes on average), which keeps it a bijection on `0..<count`. Because
/// each instance's position is a pure function of its id, an external shuffle can scatter instances to
/// position-range buckets without sorting.
public struct FeistelPermutation: Sendable {
    public let count: UInt64
    private let bits: UInt64
    private let keys: (UInt64, UInt64, UInt64, UInt64)

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
