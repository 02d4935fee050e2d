import Foundation
import NFMRandom

/// Zipf-like ranks `0..<count` in O(1) time and memory per draw: the floor of a continuous power law.
///
/// X on [1, count + 1) with density ∝ x^−s is drawn by inversion,
/// `X = (1 + u·((count + 1)^(1−s) − 1))^(1/(1−s))` (s ≠ 1) or `X = (count + 1)^u` (s = 1), and the rank is
/// ⌊X⌋ − 1, so P(rank r) = ∫ from r+1 to r+2 of x^−s dx / ∫ from 1 to count+1: Zipf's law up to the head
/// (rank 0 gets (1 − 2^(1−s))/(1 − s) of Zipf's 1 before normalising). Unlike the table-based `Zipf`,
/// it needs no per-value memory, so a column may have millions of values.
struct SyntheticPowerLaw: Sendable {
    /// Number of ranks.
    let count: Int
    private let span: Double
    private let inverse: Double
    private let isHarmonic: Bool

    /// A power law with exponent `exponent` (> 0) over `count` (≥ 1) ranks.
    init(count: Int, exponent: Double) {
        self.count = max(1, count)
        let top = Double(self.count) + 1
        isHarmonic = abs(1 - exponent) < 1e-9
        span = isHarmonic ? log(top) : pow(top, 1 - exponent) - 1
        inverse = isHarmonic ? 1 : 1 / (1 - exponent)
    }

    /// A rank in `0..<count` (one uniform draw and one `pow`).
    @inline(__always) func sample(_ random: inout SplitMix64) -> Int {
        let u = Double(random.next() >> 11) * 0x1.0p-53
        let x = isHarmonic ? exp(u * span) : pow(1 + u * span, inverse)
        let rank = Int(x) - 1  // x ∈ [1, count + 1]: no overflow
        return min(max(rank, 0), count - 1)
    }

    /// The probability of rank 0: the head's share of the draws.
    var headShare: Double {
        isHarmonic ? log(2) / span : (pow(2, 1 / inverse) - 1) / span
    }
}
