import NFMTestSupport
import Testing

@testable import NFMPipeline

/// `VocabularyScanTables` (a partition scan's per-field vocabularies in plain memory) against one
/// `Vocabulary` per field: the same indices for every value as it arrives, and the same value lists
/// (bytes, order and counts), through many rehashes, empty values, short and long ones.
@Suite struct VocabularyScanTablesTests {
    @Test func sameIndicesAndValueListsAsVocabularies() {
        var generator = SplitMix64(seed: 11)
        let keyValues = VocabularyKeyTests.values()
        var vocabularies = [Vocabulary(), Vocabulary(), Vocabulary()]
        let tables = VocabularyScanTables(count: 3)
        for step in 0..<20_000 {
            let field = step % 3
            // Field 0: the key-test values (every length 0…24); 1: up to 3,000 distinct decimals; 2: long values.
            let value: [UInt8] =
                switch field {
                case 0: keyValues[Int(generator.below(UInt64(keyValues.count)))]
                case 1: Array(String(generator.below(3_000)).utf8)
                default: Array("a long value of field two, number \(generator.below(500))".utf8)
                }
            let expected = value.withUnsafeBufferPointer { vocabularies[field].encode($0) }
            #expect(value.withUnsafeBufferPointer { tables.encode(field, $0) } == expected)
        }
        for field in 0..<3 {
            #expect(tables.valueList(field) == ValueList(vocabularies[field]))
            #expect(tables.valueList(field).count > 100)
        }
    }

    @Test func noFieldsAndNoValues() {
        #expect(VocabularyScanTables(count: 0).count == 0)
        let tables = VocabularyScanTables(count: 2)
        #expect(tables.valueList(1) == ValueList(Vocabulary()))
    }
}

/// `ScanMemoryPool`: reused tables are empty (the same indices and value lists as fresh ones); reused pair
/// buffers are empty and keep their capacity.
@Suite struct ScanMemoryPoolTests {
    @Test func reusedTablesAreEmpty() {
        let pool = ScanMemoryPool()
        let first = pool.takeTables(count: 2)
        for i in 0..<5_000 {
            let value = Array("value \(i)".utf8)
            _ = value.withUnsafeBufferPointer { first.encode(i % 2, $0) }
        }
        #expect(first.valueList(0).count == 2_500)
        pool.give(first)
        #expect(pool.takeTables(count: 3) !== first)  // another field count: new tables
        let second = pool.takeTables(count: 2)
        #expect(second === first)
        #expect(second.valueList(0) == ValueList(Vocabulary()))
        let fresh = VocabularyScanTables(count: 2)
        for i in 0..<300 {
            let value = Array("other \(i % 37)".utf8)
            let index = value.withUnsafeBufferPointer { second.encode(1, $0) }
            #expect(index == value.withUnsafeBufferPointer { fresh.encode(1, $0) })
        }
        #expect(second.valueList(1) == fresh.valueList(1))
        #expect(second.valueList(0).count == 0)
    }

    @Test func reusedPairBuffersAreEmptyAndKeepTheirCapacity() {
        let pool = ScanMemoryPool()
        #expect(pool.takePairs().isEmpty)
        var pairs = pool.takePairs()
        pairs += (0..<10_000).map { UInt64($0) }
        pool.give(pairs)
        let reused = pool.takePairs()
        #expect(reused.isEmpty && reused.capacity >= 10_000)
        #expect(pool.takePairs().capacity == 0)
    }
}
