extension FeistelPermutation {
    /// The four round functions of a permutation whose halves are narrow, tabulated: entry `v` of round
    /// `r`'s table is `SplitMix64.mix(v ⊕ keys.r)` masked to the width of the half it is xored into, for
    /// every half value `v < 2^⌈b/2⌉`. A round of the inverse network is then one table read and an xor
    /// instead of two 64-bit multiplies (which AVX2 has no instruction for), and the inverse of a batch of
    /// positions costs about two thirds of `instances(from:count:into:pending:)` (9 M positions).
    ///
    /// Built only when ⌈b/2⌉ ≤ `maximumHalfBits` (2^28 instances and fewer): entries of 16 bits,
    /// 4 · 2^⌈b/2⌉ · 2 bytes ≤ 128 KiB, which stay in the L2 cache (32 KiB, in L1, for 2^24 instances and
    /// fewer). O(2^⌈b/2⌉) time and memory to build; the same values as the permutation's `instance(at:)`.
    final class RoundTable: @unchecked Sendable {
        /// The widest half tabulated: 14 bits.
        static let maximumHalfBits: UInt64 = 14

        private let permutation: FeistelPermutation
        /// Round `r`'s entries at `entries + r · size`.
        private let entries: UnsafeMutablePointer<UInt16>
        private let size: Int

        /// The tables of `permutation`, or nil when its halves are wider than `maximumHalfBits`.
        init?(_ permutation: FeistelPermutation) {
            let half = permutation.bits / 2
            let wide = permutation.bits - half
            guard wide <= RoundTable.maximumHalfBits else { return nil }
            self.permutation = permutation
            size = 1 << Int(wide)
            entries = .allocate(capacity: 4 * size)
            let keys = [permutation.keys.0, permutation.keys.1, permutation.keys.2, permutation.keys.3]
            for r in 0..<4 {
                // Rounds 0 and 2 (forward) xor into the wide half, rounds 1 and 3 into the narrow one.
                let mask: UInt64 = (1 << (r % 2 == 0 ? wide : half)) - 1
                for v in 0..<size {
                    entries[r * size + v] = UInt16(truncatingIfNeeded: SplitMix64.mix(UInt64(v) ^ keys[r]) & mask)
                }
            }
        }

        deinit { entries.deallocate() }

        /// `instance(at:)` of the `n` positions `start ..< start + n` (all < `count`) into `out`, with `n`
        /// words of room in `pending`: one pass over every position, then passes over those still outside
        /// `0..<count` only (listed without a branch on the values). Same values as `instance(at:)`.
        func instances(
            from start: UInt64, count n: Int, into out: UnsafeMutablePointer<UInt64>, pending: UnsafeMutablePointer<Int>
        ) {
            let count = permutation.count
            precondition(n >= 0 && start <= count && UInt64(n) <= count - start)
            let rounds = Rounds(entries: UnsafePointer(entries), size: size, half: permutation.bits / 2)
            for i in 0..<n { out[i] = rounds.inversePass(start &+ UInt64(i)) }
            var waiting = permutation.stillOutside(out, pending, listed: n, first: true)
            while waiting > 0 {
                for k in 0..<waiting { out[pending[k]] = rounds.inversePass(out[pending[k]]) }
                waiting = permutation.stillOutside(out, pending, listed: waiting, first: false)
            }
        }

        /// The four tables and the narrow half's width, in registers.
        private struct Rounds {
            let t0, t1, t2, t3: UnsafePointer<UInt16>
            let half: UInt64

            init(entries: UnsafePointer<UInt16>, size: Int, half: UInt64) {
                (t0, t1, t2, t3) = (entries, entries + size, entries + 2 * size, entries + 3 * size)
                self.half = half
            }

            /// One pass of the inverse network over `0..<2^b` (`x` < 2^b): the rounds in reverse order,
            /// each `(L', R') → (R' ⊕ F(L'), L')` with `F` read from its table.
            @inline(__always)
            func inversePass(_ x: UInt64) -> UInt64 {
                let right = x & ((1 << half) - 1)
                let left = x &>> half
                // After round 3's inverse the halves are (right ⊕ F3(left), left), and so on.
                let a = right ^ UInt64(t3[Int(truncatingIfNeeded: left)])
                let b = left ^ UInt64(t2[Int(truncatingIfNeeded: a)])
                let c = a ^ UInt64(t1[Int(truncatingIfNeeded: b)])
                let d = b ^ UInt64(t0[Int(truncatingIfNeeded: c)])
                return d &<< half | c
            }
        }
    }
}
