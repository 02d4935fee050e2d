import Testing

@testable import NFMPipeline

/// `PairTable` built on several threads (blocks of keys sorted and deduplicated apart, then moved
/// together) against one thread and against a plain set of the pairs.
@Suite struct PairTableTests {
    /// Random pairs with many duplicates, skewed keys (one large key, many small, some empty).
    static func pairs(seed: UInt64, count: Int, keys: Int) -> [(Int, UInt32)] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            let key = generator.below(4) == 0 ? 0 : Int(generator.below(UInt64(keys)))
            return (key, UInt32(generator.below(50)))
        }
    }

    @Test(arguments: [1, 2, 3, 8])
    func sameTableOnAnyNumberOfThreads(threads: Int) throws {
        for (seed, keys) in [(UInt64(1), 1), (2, 7), (3, 300), (4, 5000)] {
            let pairs = PairTableTests.pairs(seed: seed, count: 20_000, keys: keys)
            let build = { (threads: Int) in
                PairTable(keyCount: keys, threads: threads) { yield in for (k, v) in pairs { yield(k, v) } }
            }
            let table = build(threads)
            #expect(table == build(1))
            let expected = Set(pairs.map { UInt64($0.0) << 32 | UInt64($0.1) })
            #expect(table.values.count == expected.count)
            for key in 0..<min(keys, 50) {
                for value in 0..<50 {
                    #expect(table.contains(key: key, value: value) == expected.contains(UInt64(key) << 32 | UInt64(value)))
                }
            }
        }
    }

    @Test(arguments: [1, 2, 3])
    func partsCountedInParallelGiveTheTableOfTheirPairsInOrder(threads: Int) {
        // Parts of uneven sizes (some empty), and one shape whose per-part counts exceed 4 M words (read on
        // one thread): the same table as one pass over the parts' pairs in order.
        for (seed, keys, parts) in [(UInt64(5), 1, 3), (6, 300, 8), (7, 5000, 11), (8, 4500, 1000)] {
            let pairs = PairTableTests.pairs(seed: seed, count: 30_000, keys: keys)
            var cuts = (0..<parts - 1).map { (($0 * 7919) % pairs.count) }
            cuts = [0] + cuts.sorted() + [pairs.count]
            let table = PairTable(keyCount: keys, parts: parts, threads: threads) { part, yield in
                for (k, v) in pairs[cuts[part]..<cuts[part + 1]] { yield(k, v) }
            }
            #expect(table == PairTable(keyCount: keys) { yield in for (k, v) in pairs { yield(k, v) } }, "keys \(keys) parts \(parts)")
        }
    }

    @Test func emptyTable() {
        let table = PairTable(keyCount: 0, threads: 4) { _ in }
        #expect(table == PairTable.empty)
        let keysWithoutPairs = PairTable(keyCount: 5, threads: 4) { _ in }
        #expect(keysWithoutPairs.offsets == [0, 0, 0, 0, 0, 0])
    }
}
