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
        var x = position
        repeat { x = inversePass(x) } while x >= count
        return x
    }

    /// One pass of the inverse network over `0..<2^bits` (no cycle walking).
    @inline(__always)
    private func inversePass(_ x: UInt64) -> UInt64 {
        let half = bits / 2
        var leftBits = bits - half
        var right = x & ((1 << half) - 1)
        var left = x >> half
        unround(&left, &right, &leftBits, keys.3)
        unround(&left, &right, &leftBits, keys.2)
        unround(&left, &right, &leftBits, keys.1)
        unround(&left, &right, &leftBits, keys.0)
        return left << half | right
    }

    /// `instance(at:)` of the `n` positions `start ..< start + n` (all < `count`) into `out`, with `n`
    /// words of room in `pending`: one pass over every lane, then passes over the lanes still outside
    /// `0..<count` only (listed without a branch), so that the lanes' independent passes overlap instead of
    /// waiting on a cycle-walking branch the predictor cannot learn. Same values as `instance(at:)`.
    public func instances(
        from start: UInt64, count n: Int, into out: UnsafeMutablePointer<UInt64>, pending: UnsafeMutablePointer<Int>
    ) {
        precondition(n >= 0 && start <= count && UInt64(n) <= count - start)
        var waiting = 0
        for i in 0..<n {
            let x = inversePass(start &+ UInt64(i))
            out[i] = x
            pending[waiting] = i
            waiting &+= x >= count ? 1 : 0
        }
        while waiting > 0 {
            var still = 0
            for k in 0..<waiting {
                let i = pending[k]
                let x = inversePass(out[i])
                out[i] = x
                pending[still] = i
                still &+= x >= count ? 1 : 0
            }
            waiting = still
        }
    }
}
