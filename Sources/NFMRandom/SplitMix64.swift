/// SplitMix64 (Steele, Lea & Flood 2014): the one seed-mixing generator of nfm. It drives every random
/// choice of the dataset builder directly and seeds the trainer's xoshiro256** (`Xoshiro256`).
///
/// `state ← state + γ` with `γ = 0x9E3779B97F4A7C15`, output `mix(state)`.
///
/// Streams are counter-based: `SplitMix64(seed:stream:index:)` derives an independent state for, say,
/// the negatives of positive row `index`, so results never depend on processing order, threads or buffers.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The golden-ratio increment γ.
    public static let increment: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// The generator's whole state (the last value mixed).
    public var state: UInt64 { word }

    /// The state's storage: module-internal, but visible to the `@inlinable` methods below, which the
    /// builder's per-row loops inline across the module boundary.
    @usableFromInline var word: UInt64

    /// The sequence that starts after `seed`: the first output is `mix(seed + γ)`.
    @inlinable public init(seed: UInt64) { word = seed }

    /// State `mix(seed ⊕ mix(stream + γ·(index + 1)))`: element `index` of counter-based stream `stream`.
    @inlinable public init(seed: UInt64, stream: UInt64, index: UInt64) {
        word = SplitMix64.mix(seed ^ SplitMix64.mix(stream &+ SplitMix64.increment &* (index &+ 1)))
    }

    /// Element `index` of the named counter-based `stream` (see `RandomStream`).
    @inlinable public init(seed: UInt64, stream: RandomStream, index: UInt64) {
        self.init(seed: seed, stream: stream.id, index: index)
    }

    /// The SplitMix64 finaliser (a bijection of 64-bit words with full avalanche):
    /// `z ← (z ⊕ z≫30)·0xBF58476D1CE4E5B9; z ← (z ⊕ z≫27)·0x94D049BB133111EB; z ⊕ z≫31`.
    @inlinable @inline(__always) public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The next 64 random bits: `state += γ; return mix(state)`.
    @inlinable @inline(__always) public mutating func next() -> UInt64 {
        word &+= SplitMix64.increment
        return SplitMix64.mix(word)
    }

    /// Uniform integer in `0..<bound` (Lemire's multiply-and-reject: exact, no modulo bias). `bound > 0`.
    @inlinable @inline(__always) public mutating func below(_ bound: UInt64) -> UInt64 {
        precondition(bound > 0)
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold { product = next().multipliedFullWidth(by: bound) }
        }
        return product.high
    }
}
