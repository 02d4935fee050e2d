extension FeistelPermutation {
    /// Undoes one round of `position(of:)`: `(L, R) → (R, L ⊕ F(R))` is inverted as
    /// `(L', R') → (R' ⊕ F(L'), L')`, where `L'` has the width `R` had and the old left half's width is
    /// `bits − leftBits'`.
    @inline(__always)
    private func unround(_ left: inout UInt64, _ right: inout UInt64, _ leftBits: inout UInt64, _ key: UInt64) {
        let previousLeftBits = bits - leftBits
        let previousLeft = right ^ (SplitMix64.mix(left ^ key) & ((1 << previousLeftBits) - 1))
        right = left
        left = previousLeft
        leftBits = previousLeftBits
    }

    /// The value whose image is `position` (< `count`): `instance(at: position(of: g)) == g`.
    ///
    /// The network's rounds in reverse order with their keys, walked again while the result lies outside
    /// `0..<count` (cycle walking is reversed the same way: the forward walk from `g` passes only through
    /// values ≥ `count` before it stops at `position`). O(1) expected, the cost of `position(of:)`.
    @inline(__always)
    public func instance(at position: UInt64) -> UInt64 {
        precondition(position < count)
        let half = bits / 2
        var x = position
        repeat {
            var leftBits = bits - half
            var right = x & ((1 << half) - 1)
            var left = x >> half
            unround(&left, &right, &leftBits, keys.3)
            unround(&left, &right, &leftBits, keys.2)
            unround(&left, &right, &leftBits, keys.1)
            unround(&left, &right, &leftBits, keys.0)
            x = left << half | right
        } while x >= count
        return x
    }
}
