import Testing

@testable import NFMPipeline

/// `Vocabulary`'s slot keys (short values packed from overlapping loads, long ones hashed by words):
/// values of every length from 0 to 24 bytes that differ in a single byte at every position stay
/// distinct, keep their first-appearance indices and count their occurrences.
@Suite struct VocabularyKeyTests {
    /// Every value of length 0…24 bytes, and each with one byte changed at each position.
    static func values() -> [[UInt8]] {
        var values: [[UInt8]] = []
        for length in 0...24 {
            let base = (0..<length).map { UInt8(97 + $0 % 26) }
            values.append(base)
            for position in 0..<length {
                var changed = base
                changed[position] = 48
                values.append(changed)
            }
        }
        return values + [[0], [0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0]]
    }

    @Test func everyLengthAndEveryByteCounts() {
        let values = VocabularyKeyTests.values()
        var vocabulary = Vocabulary()
        for _ in 0..<2 {
            for (i, value) in values.enumerated() {
                #expect(value.withUnsafeBufferPointer { vocabulary.encode($0) } == i)
            }
        }
        #expect(vocabulary.count == values.count)
        #expect(vocabulary.counts == [Int](repeating: 2, count: values.count))
        for (i, value) in values.enumerated() {
            #expect(value.withUnsafeBufferPointer { vocabulary.index(of: $0) } == i)
            vocabulary.withValue(at: i) { #expect(Array($0) == value) }
        }
        let absent: [UInt8] = Array("not a value at all".utf8)
        #expect(absent.withUnsafeBufferPointer { vocabulary.index(of: $0) } == nil)
    }

    @Test func shortValuesAreTheirOwnKeys() {
        let bytes: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]
        for length in 0...8 {
            let key = bytes.withUnsafeBufferPointer { Vocabulary.key(UnsafeBufferPointer(rebasing: $0[0..<length])).key }
            var expected: UInt64 = 0
            for i in 0..<length { expected |= UInt64(bytes[i]) << (8 * UInt64(i)) }
            #expect(key == expected)
        }
    }
}
