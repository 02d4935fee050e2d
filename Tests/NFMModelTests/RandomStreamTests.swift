import NFMKernels
import NFMRandom
import Testing

/// The one SplitMix64 and the stream table: values pinned, since changing any of them changes every
/// dataset (counter-based streams) or trained model (sequential streams) built with a given seed.
@Suite struct RandomStreamTests {
    @Test func splitMix64MatchesTheReferenceSequence() {
        // Reference outputs of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
        var generator = SplitMix64(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(generator.next() == 0x06C4_5D18_8009_454F)
    }

    @Test func streamIdsArePinnedAndDistinct() {
        let ids = RandomStream.all.map(\.id)
        #expect(ids == [1, 2, 5, 77, 91, 92, 93, 94, 95, 0x494E_4954, 0x5348_5546, 0x4452_4F50])
        #expect(Set(ids).count == ids.count)
        #expect(Set(RandomStream.all.map(\.name)).count == ids.count)
    }

    @Test func counterBasedStreamsAreIndependentOfEachOther() {
        var a = SplitMix64(seed: 7, stream: .negatives, index: 3)
        var b = SplitMix64(seed: 7, stream: RandomStream.negatives.id, index: 3)
        var c = SplitMix64(seed: 7, stream: .permutation, index: 3)
        let first = a.next()
        #expect(first == b.next())
        #expect(first != c.next())
    }

    @Test func sequentialStreamsSeedXoshiroWithTheTag() {
        var named = Xoshiro256(seed: 2016, stream: .dropout)
        var tagged = Xoshiro256(seed: 2016 ^ 0x4452_4F50)
        var other = Xoshiro256(seed: 2016, stream: .shuffle)
        let draws = (0..<4).map { _ in named.next() }
        #expect(draws == (0..<4).map { _ in tagged.next() })
        #expect(draws != (0..<4).map { _ in other.next() })
    }
}
