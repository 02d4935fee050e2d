import Foundation
import NFMFormat
import NFMTestSupport
import Testing

@testable import NFMPipeline

/// The scan's compact statistics: positive pairs deduplicated per key at the end of a scan, the rule keys of
/// a one-field rule taken from the field's indices, and builds under a one-field and a several-field rule
/// equal to the single pass.
@Suite struct PartitionScanKeysTests {
    @Test func distinctPairsAreSortedAndUnique() {
        func pair(_ key: UInt64, _ value: UInt64) -> UInt64 { key << 32 | value }
        let pairs = [pair(2, 7), pair(0, 5), pair(2, 7), pair(0, 1), pair(1, 9), pair(0, 5)]
        let distinct = PartitionScan.distinct(pairs, keyCount: 3)
        #expect(distinct == [pair(0, 1), pair(0, 5), pair(1, 9), pair(2, 7)])
        #expect(PartitionScan.distinct([], keyCount: 2).isEmpty)
    }

    @Test func distinctPairsOfManyValuesPerKey() {
        // Key 0: 300 draws of 100 values (the general sort), key 3: a dozen (insertion), keys 1 and 2: none.
        var generator = SplitMix64(seed: 3)
        var pairs: [UInt64] = []
        for i in 0..<312 {
            let key: UInt64 = i < 300 ? 0 : 3
            pairs.append(key << 32 | generator.below(i < 300 ? 100 : 5))
        }
        let distinct = PartitionScan.distinct(pairs, keyCount: 4)
        #expect(distinct == Array(Set(pairs)).sorted())
        #expect(distinct.count > 90)
    }

    @Test func indexTuplesAreLittleEndianIndicesWithTheirCounts() {
        let list = ValueList(indexTuples: [3, 1, 4])
        #expect(list.count == 3)
        #expect(list.counts == [3, 1, 4])
        #expect(list.withValue(at: 2) { Array($0) } == [2, 0, 0, 0])
        #expect(list == ValueList(arena: [0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0], ends: [4, 8, 12], counts: [3, 1, 4]))
    }

    @Test(arguments: ["user", "context"])
    func ruleKeysGiveTheSinglePassBytes(rule: String) throws {
        let fixture = PartitionedBuildTests.fixture
        let reference = TestSupport.snapshot(
            try PartitionedBuildTests.build([fixture]) {
                $0.singlePass = true
                $0.rule = rule
            }.directory)
        #expect(reference.count > 15)
        for threads in [1, 3] {
            let (directory, _) = try PartitionedBuildTests.build([fixture]) {
                $0.threads = threads
                $0.partitionBytes = 2000
                $0.memoryBudget = 4096
                $0.rule = rule
            }
            #expect(PartitionedBuildTests.differences(directory, reference) == [])
        }
    }
}
