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
    /// words of room in `pending`. Four lanes go through the network at once (`Lanes`: SIMD, and four
    /// independent chains that overlap where one lane's chain of 8 dependent multiplies would leave the
    /// core waiting): one pass over every lane, then passes over the lanes still outside `0..<count` only
    /// (listed without a branch, packed four to a vector). Same values as `instance(at:)`.
    public func instances(
        from start: UInt64, count n: Int, into out: UnsafeMutablePointer<UInt64>, pending: UnsafeMutablePointer<Int>
    ) {
        precondition(n >= 0 && start <= count && UInt64(n) <= count - start)
        var i = 0
        while i + 4 <= n {
            let x = inversePass(Lanes(repeating: start &+ UInt64(i)) &+ Lanes(0, 1, 2, 3))
            for lane in 0..<4 { out[i + lane] = x[lane] }
            i += 4
        }
        while i < n {
            out[i] = inversePass(start &+ UInt64(i))
            i += 1
        }
        var waiting = stillOutside(out, pending, listed: n, first: true)
        while waiting > 0 {
            var k = 0
            while k + 4 <= waiting {
                let (a, b, c, d) = (pending[k], pending[k + 1], pending[k + 2], pending[k + 3])
                let x = inversePass(Lanes(out[a], out[b], out[c], out[d]))
                (out[a], out[b], out[c], out[d]) = (x[0], x[1], x[2], x[3])
                k += 4
            }
            while k < waiting {
                out[pending[k]] = inversePass(out[pending[k]])
                k += 1
            }
            waiting = stillOutside(out, pending, listed: waiting, first: false)
        }
    }

    /// Lists in `pending` the lanes of `out` still ≥ `count` among the `listed` ones (lanes `0..<listed` when
    /// `first`, else those listed in `pending`); returns how many. No branch on the values. (Also the cycle
    /// walk of `RoundTable.instances`.)
    @inline(__always)
    func stillOutside(
        _ out: UnsafeMutablePointer<UInt64>, _ pending: UnsafeMutablePointer<Int>, listed: Int, first: Bool
    ) -> Int {
        var still = 0
        for k in 0..<listed {
            let i = first ? k : pending[k]
            pending[still] = i
            still &+= out[i] >= count ? 1 : 0
        }
        return still
    }

    /// Four values going through the inverse network together.
    typealias Lanes = SIMD4<UInt64>

    /// `inversePass` of four values.
    @inline(__always)
    private func inversePass(_ x: Lanes) -> Lanes {
        let half = bits / 2
        var leftBits = bits - half
        var right = x & Lanes(repeating: (1 << half) - 1)
        var left = x &>> Lanes(repeating: half)
        unround(&left, &right, &leftBits, keys.3)
        unround(&left, &right, &leftBits, keys.2)
        unround(&left, &right, &leftBits, keys.1)
        unround(&left, &right, &leftBits, keys.0)
        return (left &<< Lanes(repeating: half)) | right
    }

    /// `unround` of four values (the same widths in every lane).
    @inline(__always)
    private func unround(_ left: inout Lanes, _ right: inout Lanes, _ leftBits: inout UInt64, _ key: UInt64) {
        let previousLeftBits = bits - leftBits
        let previousLeft = right ^ (FeistelPermutation.mix(left ^ Lanes(repeating: key)) & Lanes(repeating: (1 << previousLeftBits) - 1))
        right = left
        left = previousLeft
        leftBits = previousLeftBits
    }

    /// `SplitMix64.mix` of every lane.
    @inline(__always)
    static func mix(_ value: Lanes) -> Lanes {
        var z = value
        z = (z ^ (z &>> 30)) &* Lanes(repeating: 0xBF58_476D_1CE4_E5B9)
        z = (z ^ (z &>> 27)) &* Lanes(repeating: 0x94D0_49BB_1331_11EB)
        return z ^ (z &>> 31)
    }
}
