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

    /// `writeDecimal` spells every integer as `String(_:)` does: edges, each power of ten and its
    /// neighbours, and seeded random values of every magnitude.
    @Test func decimalSpellingMatchesString() {
        var values = [0, 1, -1, 9, 10, -10, Int.max, Int.min, Int.max - 1, Int.min + 1]
        var power = 1
        for _ in 0..<18 {
            power *= 10
            values += [power - 1, power, power + 1, -power]
        }
        var state: UInt64 = 0x1234_5678
        for _ in 0..<2000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            values.append(Int(truncatingIfNeeded: state) >> Int(state >> 58))
        }
        var out = [UInt8](repeating: 7, count: 24)
        for value in values {
            let end = out.withUnsafeMutableBufferPointer { out in
                Vocabulary.writeDecimal(value, at: out.baseAddress! + 1) - out.baseAddress!
            }
            #expect(Array(out[1..<end]) == Array(String(value).utf8), "\(value)")
            #expect(out[0] == 7)
        }
    }

    /// A vocabulary file spells each line as `index TAB count TAB escaped value`, the values with and
    /// without bytes to escape, in `keeping`'s order and renumbered.
    @Test func fileLinesSpellIndicesCountsAndEscapedValues() {
        let values: [[UInt8]] = [Array("plain".utf8), Array("tab\there".utf8), [92, 10, 13, 9], [], Array("é".utf8)]
        var vocabulary = Vocabulary()
        for (i, value) in values.enumerated() {
            for _ in 0...i { _ = value.withUnsafeBufferPointer { vocabulary.encode($0) } }
        }
        var expected = Array("index\tcount\tvalue\n".utf8)
        for (line, index) in [4, 0, 2].enumerated() {
            expected += Array("\(line)\t\(index + 1)\t".utf8)
            Vocabulary.appendEscaped(values[index], to: &expected)
            expected.append(10)
        }
        #expect(vocabulary.fileBytes(keeping: [4, 0, 2]) == expected)
        #expect(Array(String(decoding: vocabulary.fileBytes(), as: UTF8.self).split(separator: "\n")[3].utf8)
            == Array("2\t3\t\\\\\\n\\r\\t".utf8))
    }

    /// `writeEscaped` and `appendEscaped` write every byte value as spelled here: backslash, tab, line
    /// feed and carriage return as `\\`, `\t`, `\n`, `\r`, every other byte as it is.
    @Test func everyByteIsEscapedAsSpelled() {
        let bytes = (0...255).map { UInt8($0) } + [92, 9, 10, 13, 92]
        let spelled: [UInt8: String] = [92: "\\\\", 9: "\\t", 10: "\\n", 13: "\\r"]
        let expected = bytes.flatMap { spelled[$0].map { Array($0.utf8) } ?? [$0] }
        var appended: [UInt8] = []
        Vocabulary.appendEscaped(bytes, to: &appended)
        var out = [UInt8](repeating: 0, count: 2 * bytes.count)
        let end = bytes.withUnsafeBufferPointer { bytes in
            out.withUnsafeMutableBufferPointer { Vocabulary.writeEscaped(bytes, at: $0.baseAddress!) - $0.baseAddress! }
        }
        #expect(appended == expected)
        #expect(Array(out[..<end]) == expected)
        #expect(expected.count == bytes.count + 9)  // four escaped byte values in 0…255, five more after
    }
}
