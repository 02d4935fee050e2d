import Testing

@testable import NFMPipeline

/// `SmallDivisor` against `quotientAndRemainder(dividingBy:)`: every divisor kind (1, the multiplication
/// below 2²⁴ with dividends below 2⁴⁰, the division otherwise), at the edges of the exactness argument
/// (multiples of the divisor and their neighbours up to the limit) and at seeded random dividends.
@Suite struct SmallDivisorTests {
    func check(_ d: UInt64, limit: UInt64, dividends: [UInt64]) {
        let divisor = SmallDivisor(d, dividendsBelow: limit)
        let below = dividends.filter { $0 < limit }
        var (quotients, remainders) = ([Int](repeating: -1, count: below.count), [Int](repeating: -1, count: below.count))
        below.withUnsafeBufferPointer { values in
            divisor.split(
                values.baseAddress!, count: values.count, quotients: &quotients, remainders: &remainders)
        }
        for (i, x) in below.enumerated() {
            let want = x.quotientAndRemainder(dividingBy: d)
            #expect(quotients[i] == Int(truncatingIfNeeded: want.quotient), "split \(x) / \(d)")
            #expect(remainders[i] == Int(truncatingIfNeeded: want.remainder), "split \(x) / \(d)")
        }
    }

    @Test func matchesTheDivisionInstruction() {
        let limit: UInt64 = 1 << 40
        var state: UInt64 = 0x9E37_79B9
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state
        }
        var divisors: [UInt64] = Array(1...40) + [255, 256, 257, 1000, 65_535, 65_536, 1 << 23, (1 << 24) - 1]
        for _ in 0..<40 { divisors.append(1 + next() % ((1 << 24) - 1)) }
        for d in divisors {
            var dividends: [UInt64] = [0, 1, d - 1, d, d + 1, limit - 1, limit - 2, limit - d]
            let top = (limit - 1) / d * d
            dividends += [top, top - 1, top &- d, top &- d &- 1]
            for _ in 0..<300 { dividends.append(next() >> 24) }  // below 2⁴⁰
            for _ in 0..<100 { dividends.append(next() % 100_000) }
            check(d, limit: limit, dividends: dividends)
        }
    }

    @Test func largeDivisorsAndDividendsFallBackToTheDivision() {
        let huge: [UInt64] = [0, 1, 1 << 40, (1 << 40) + 7, 1 << 63, UInt64.max, UInt64.max - 1]
        for d: UInt64 in [3, 1 << 24, (1 << 24) + 1, 1 << 40, UInt64.max] {
            check(d, limit: UInt64.max, dividends: huge + [d, d &- 1, d &+ 1])
        }
        check(1, limit: UInt64.max, dividends: huge)
    }
}
