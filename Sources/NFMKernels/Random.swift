// The seed mixer and the stream table are NFMRandom's, shared with the builder; re-exported so that the
// trainer's callers name streams (`Xoshiro256(seed:stream:)`) with this module alone.
@_exported import NFMRandom

/// xoshiro256** (Blackman & Vigna 2018), seeded through SplitMix64: the one source of randomness of
/// the trainer (initialisation, shuffling, dropout), so a seed fixes every draw.
public struct Xoshiro256: RandomNumberGenerator, Sendable {
    @usableFromInline var s0: UInt64
    @usableFromInline var s1: UInt64
    @usableFromInline var s2: UInt64
    @usableFromInline var s3: UInt64

    /// State: the first four outputs of `SplitMix64(seed: seed)`.
    public init(seed: UInt64) {
        var seeder = SplitMix64(seed: seed)
        s0 = seeder.next()
        s1 = seeder.next()
        s2 = seeder.next()
        s3 = seeder.next()
    }

    /// The generator of the sequential `stream` of a run seeded `seed`: `Xoshiro256(seed: seed ⊕ stream.id)`.
    public init(seed: UInt64, stream: RandomStream) {
        self.init(seed: stream.seed(seed))
    }

    /// The next 64 random bits (xoshiro256**: `rotl(s₁·5, 7)·9`, then the state update).
    @inlinable public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Uniform in [0, 1) with 24 random bits.
    @inlinable public mutating func nextUnit() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform in [0, bound), unbiased (Lemire's method).
    @inlinable public mutating func next(below bound: Int) -> Int {
        Int(truncatingIfNeeded: next(upperBound: UInt64(bound)))
    }

    /// Standard normal draw (Box–Muller, computed in Double).
    public mutating func nextNormal() -> Double {
        var u1 = Double(next() >> 11) * 0x1p-53
        if u1 == 0 { u1 = 0x1p-53 }
        let u2 = Double(next() >> 11) * 0x1p-53
        return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
    }
}

import RealModule

@inline(__always) private func _log(_ x: Double) -> Double { Double.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Double.cos(x) }
