/// A seeded byte-string mutator for the corruption tests and the mutation fuzzer (`Fuzz/`'s `MutationFuzz`,
/// through the NFMTestSupport product): the same seed gives the same sequence of mutants.
///
/// Each mutant applies 1–4 of: flip a bit, set a byte to a random or boundary value, overwrite 2, 4 or 8
/// bytes with a boundary integer (0, 1, 2^31, 2^32 − 1, 2^40, 2^63, 2^64 − 1, …), insert, delete or
/// duplicate a short range, truncate, or append junk. SplitMix64 drives every choice.
public struct ByteMutator {
    private var state: UInt64

    /// Boundary values written by the integer mutations.
    public static let boundaries: [UInt64] = [
        0, 1, 2, 0x7F, 0xFF, 0x7FFF, 0xFFFF, 1 << 31, (1 << 32) - 1, 1 << 32, 1 << 40, 1 << 62, 1 << 63, UInt64.max,
        UInt64.max - 1,
    ]

    public init(seed: UInt64) { state = seed }

    /// The next pseudo-random 64-bit value (SplitMix64).
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `0..<bound` (bound > 0).
    public mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// A mutant of `bytes`.
    public mutating func mutate(_ bytes: [UInt8]) -> [UInt8] {
        var out = bytes
        for _ in 0...below(4) { mutateOnce(&out) }
        return out
    }

    private mutating func mutateOnce(_ out: inout [UInt8]) {
        guard !out.isEmpty else {
            out.append(UInt8(truncatingIfNeeded: next()))
            return
        }
        let at = below(out.count)
        switch below(9) {
        case 0: out[at] ^= 1 << UInt8(below(8))
        case 1: out[at] = UInt8(truncatingIfNeeded: next())
        case 2: out[at] = [0, 1, 0x7F, 0x80, 0xFF][below(5)]
        case 3:
            let width = [2, 4, 8][below(3)]
            var value = Self.boundaries[below(Self.boundaries.count)]
            for i in 0..<width where at + i < out.count {
                out[at + i] = UInt8(truncatingIfNeeded: value)
                value >>= 8
            }
        case 4: out.insert(contentsOf: (0..<1 + below(8)).map { _ in UInt8(truncatingIfNeeded: next()) }, at: at)
        case 5: out.removeSubrange(at..<min(out.count, at + 1 + below(16)))
        case 6: out.insert(contentsOf: out[at..<min(out.count, at + 1 + below(32))], at: below(out.count))
        case 7: out.removeSubrange(below(out.count)...)
        default: out.append(contentsOf: (0..<1 + below(16)).map { _ in UInt8(truncatingIfNeeded: next()) })
        }
    }
}
