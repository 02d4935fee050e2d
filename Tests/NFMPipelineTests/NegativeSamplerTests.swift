@testable import NFMPipeline
import Testing

@Suite struct NegativeSamplerTests {
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
