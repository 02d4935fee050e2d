@testable import NFMPipeline
import Testing

@Suite struct NegativeSamplerTests {
    /// The builder's array-free draw gives `draw`'s values whenever it answers, and declines exactly when
    /// the first 64 candidates are rejected (a key that excludes nearly every value).
    @Test func drawWithoutFallbackMatchesDraw() {
        var sampler = NegativeSampler(perPositive: 3, seed: 5)
        for value in 0..<97 { sampler.recordPositive(key: 0, value: value) }
        for value in stride(from: 0, to: 100, by: 3) { sampler.recordPositive(key: 1, value: value) }
        let frozen = NegativeSampler(
            perPositive: 3, seed: 5,
            pairs: PairTable(keyCount: 3) { yield in
                for value in 0..<97 { yield(0, UInt32(value)) }
                for value in stride(from: 0, to: 100, by: 3) { yield(1, UInt32(value)) }
            })
        var (answered, declined) = (0, 0)
        for candidate in [sampler, frozen] {
            var drawn: [Int] = []
            var out = [UInt32](repeating: 0, count: 3)
            for row in 0..<300 {
                for key in 0..<3 {
                    candidate.draw(row: row, key: key, into: &drawn, valueCount: 100)
                    if out.withUnsafeMutableBufferPointer({
                        candidate.drawWithoutFallback(row: row, key: key, into: $0.baseAddress!, valueCount: 100)
                    }) {
                        #expect(out.map(Int.init) == drawn)
                        answered += 1
                    } else {
                        declined += 1
                    }
                }
            }
        }
        #expect(answered > 1200 && declined > 0)
    }

    @Test func drawsDistinctAllowedValuesEvenWhenAlmostAllAreExcluded() {
        var sampler = NegativeSampler(perPositive: 2, seed: 3)
        for value in 0..<97 { sampler.recordPositive(key: 0, value: value) }
        sampler.recordPositive(key: 1, value: 5)
        #expect(sampler.isSampleable(key: 0, valueCount: 100))
        #expect(!sampler.isSampleable(key: 0, valueCount: 98))
        var drawn: [Int] = []
        var seen: Set<[Int]> = []
        for row in 0..<200 {
            sampler.draw(row: row, key: 0, into: &drawn, valueCount: 100)
            #expect(drawn.count == 2 && drawn[0] != drawn[1])
            #expect(drawn.allSatisfy { (97..<100).contains($0) })
            seen.insert(drawn)
            var again: [Int] = []
            sampler.draw(row: row, key: 0, into: &again, valueCount: 100)
            #expect(again == drawn)  // a pure function of (seed, row)
        }
        #expect(seen.count == 6)  // every ordered pair of {97, 98, 99} occurs
        for row in 0..<200 {
            sampler.draw(row: row, key: 1, into: &drawn, valueCount: 100)
            #expect(!drawn.contains(5) && drawn[0] != drawn[1])
        }
    }

    @Test func drawsAreUniformOverAllowedValues() {
        var sampler = NegativeSampler(perPositive: 1, seed: 11)
        sampler.recordPositive(key: 0, value: 0)
        var histogram = [Int](repeating: 0, count: 5)
        var drawn: [Int] = []
        for row in 0..<40_000 {
            sampler.draw(row: row, key: 0, into: &drawn, valueCount: 5)
            histogram[drawn[0]] += 1
        }
        #expect(histogram[0] == 0)
        #expect(histogram[1...].allSatisfy { (9_500...10_500).contains($0) })
    }
}
