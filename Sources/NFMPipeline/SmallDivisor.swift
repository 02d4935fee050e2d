/// Division by a fixed divisor as one multiplication, for the gather's instance ids (`row · (k + 1) + j`
/// split into row and instance within it for every instance written).
///
/// For a divisor `d` with 2 ≤ `d` < 2²⁴ and dividends `x` < 2⁴⁰: with `m = ⌊(2⁶⁴ − 1) / d⌋ + 1 = 2⁶⁴/d + δ`
/// (0 < δ ≤ 1), `⌊x · m / 2⁶⁴⌋ = ⌊x/d + x·δ/2⁶⁴⌋ = ⌊x/d⌋`, because `x·δ/2⁶⁴ < 2⁻²⁴ < 1/d` and the fractional
/// part of `x/d` is at most `(d − 1)/d`. Other divisors or bounds use the division instruction; `d` = 1 needs
/// neither. Same results as `quotientAndRemainder(dividingBy:)` in every case.
struct SmallDivisor {
    let divisor: UInt64
    private let multiplier: UInt64
    private let kind: Kind

    private enum Kind { case one, multiply, divide }

    /// A divisor `divisor` (≥ 1) for dividends below `limit`.
    init(_ divisor: UInt64, dividendsBelow limit: UInt64) {
        precondition(divisor >= 1)
        self.divisor = divisor
        if divisor == 1 {
            (kind, multiplier) = (.one, 0)
        } else if divisor < 1 << 24 && limit <= 1 << 40 {
            (kind, multiplier) = (.multiply, UInt64.max / divisor + 1)
        } else {
            (kind, multiplier) = (.divide, 0)
        }
    }

    /// `quotientAndRemainder` of each of the `count` values at `values` (below the limit given at `init`)
    /// into `quotients` and `remainders`: one loop per kind, so no branch on the kind per value.
    @inline(__always) func split(
        _ values: UnsafePointer<UInt64>, count: Int, quotients: UnsafeMutablePointer<Int>,
        remainders: UnsafeMutablePointer<Int>
    ) {
        switch kind {
        case .one:
            for i in 0..<count { (quotients[i], remainders[i]) = (Int(truncatingIfNeeded: values[i]), 0) }
        case .multiply:
            for i in 0..<count {
                let quotient = values[i].multipliedFullWidth(by: multiplier).high
                quotients[i] = Int(truncatingIfNeeded: quotient)
                remainders[i] = Int(truncatingIfNeeded: values[i] &- quotient &* divisor)
            }
        case .divide:
            for i in 0..<count {
                let (quotient, remainder) = values[i].quotientAndRemainder(dividingBy: divisor)
                (quotients[i], remainders[i]) = (Int(truncatingIfNeeded: quotient), Int(truncatingIfNeeded: remainder))
            }
        }
    }
}
