import Foundation
import NFMTestSupport
import Testing

@testable import NFMPipeline

/// The word-at-a-time reading of plain records (`DelimitedReader.parsePlain`) against the byte-by-byte
/// parse: same fields, lines, columns and problems for records that mix plain and quoted ones, carriage
/// returns, delimiters at every offset within an 8-byte word, non-ASCII and invalid UTF-8 bytes.
@Suite struct PlainRecordTests {
    /// Every record of `text` as fields with their (line, column), or its problem.
    static func read(_ text: [UInt8], quote: UInt8?, byWord: Bool, bufferSize: Int) throws -> [String] {
        let directory = TestSupport.temporaryDirectory()
        let path = TestSupport.writeBytes(text, named: "input.tsv", in: directory)
        let reader = try DelimitedReader(
            path: path, format: .init(delimiter: 9, quote: quote), bufferSize: bufferSize)
        reader.readsPlainRecordsByWord = byWord
        var out: [String] = []
        try reader.forEachRecord { record in
            var line = "@\(record.line) raw=\(Array(record.raw))"
            if let problem = record.problem { line += " !\(problem.line):\(problem.column) \(problem.message)" }
            for f in 0..<record.fieldCount {
                line += " [\(Array(record.field(f)))@\(record.line(ofField: f)):\(record.column(ofField: f))]"
            }
            out.append(line)
        }
        return out
    }

    /// A random log of short records over an alphabet rich in the bytes that matter.
    static func randomLog(seed: UInt64, records: Int) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        let alphabet: [[UInt8]] = [
            [97], [98], [49], [9], [9], [9], [13], [34], [0xC3, 0xA9], [0xFF], [0xE6, 0x97, 0xA5], [32], [0],
        ]
        var text: [UInt8] = []
        for _ in 0..<records {
            let length = Int(generator.below(40))
            for _ in 0..<length {
                // Mostly plain bytes and delimiters; the rest rarely, so that many records stay plain.
                let pick = Int(generator.below(100))
                text += pick < 60 ? alphabet[pick % 3] : pick < 85 ? [9] : alphabet[3 + pick % 10]
            }
            if generator.below(10) == 0 { text.append(13) }
            text.append(10)
        }
        return text
    }

    @Test(arguments: [UInt64(1), 2, 3, 4])
    func wordsAndBytesReadTheSameRecords(seed: UInt64) throws {
        let text = PlainRecordTests.randomLog(seed: seed, records: 400)
        for quote in [UInt8(ascii: "\""), nil] as [UInt8?] {
            for bufferSize in [16, 61, 1 << 20] {
                let byBytes = try PlainRecordTests.read(text, quote: quote, byWord: false, bufferSize: bufferSize)
                let byWords = try PlainRecordTests.read(text, quote: quote, byWord: true, bufferSize: bufferSize)
                #expect(byWords == byBytes)
                #expect(byWords.count > 200)
            }
        }
    }

    @Test func delimiterAtEveryOffsetOfAWord() throws {
        var text: [UInt8] = []
        for width in 0..<20 {
            text += [UInt8](repeating: 120, count: width) + [9] + [UInt8](repeating: 121, count: 19 - width) + [9, 10]
        }
        let byWords = try PlainRecordTests.read(text, quote: 34, byWord: true, bufferSize: 1 << 20)
        #expect(byWords == (try PlainRecordTests.read(text, quote: 34, byWord: false, bufferSize: 1 << 20)))
        #expect(byWords.count == 20)
        #expect(byWords[7].contains("@8:9]"))
    }

    /// Records with more fields than the reader's first span buffer (64), after a short one.
    @Test func manyFieldsGrowTheSpans() throws {
        var text: [UInt8] = Array("a\tb\n".utf8)
        // The last record, 80,000 bytes, is past `DelimitedReader.plainRecordLimit`: read byte by byte.
        for fields in [65, 300, 64, 1000, 40_000] {
            text += (0..<fields).map { UInt8(97 + $0 % 26) }.flatMap { [$0, 9] }.dropLast() + [10]
        }
        for bufferSize in [16, 1 << 20] {
            let byWords = try PlainRecordTests.read(text, quote: 34, byWord: true, bufferSize: bufferSize)
            #expect(byWords == (try PlainRecordTests.read(text, quote: 34, byWord: false, bufferSize: bufferSize)))
            #expect(byWords.count == 6)
            #expect(byWords[4].contains("[[108]@5:1999]"))
            #expect(byWords[5].contains("@6:79999]"))
        }
    }

    @Test func invalidUTF8InAPlainRecordIsReportedAtItsColumn() throws {
        let text: [UInt8] = Array("ab\tcd\n".utf8) + [120, 9, 121, 121, 0xFF, 10]
        let records = try PlainRecordTests.read(text, quote: 34, byWord: true, bufferSize: 1 << 20)
        #expect(records.count == 2)
        #expect(records[1].contains("!2:5 invalid UTF-8 byte 0xff"))
    }
}
