import Testing

@testable import NFMPipeline

/// The jumping scanner against a byte-at-a-time reading of the same quoting rules, on random texts full of
/// quotes, delimiters and line feeds, fed in random pieces.
@Suite struct QuotedRecordScannerTests {
    /// The rules one byte at a time (the scan the builder used before): the first boundary at or after each
    /// target.
    static func referenceCuts(_ text: [UInt8], targets: [Int], quote: UInt8, delimiter: UInt8) -> [Int] {
        var state = 0  // field start, unquoted, quoted, quote inside quoted, tail
        var cuts: [Int] = []
        var next = 0
        for (i, c) in text.enumerated() {
            var boundary = false
            switch state {
            case 0: state = c == quote ? 2 : c == 10 || c == delimiter ? 0 : 1; boundary = c == 10
            case 1: if c == 10 { state = 0; boundary = true } else if c == delimiter { state = 0 }
            case 2: if c == quote { state = 3 }
            case 3:
                if c == quote { state = 2 } else if c == delimiter { state = 0 }
                else if c == 10 { state = 0; boundary = true } else { state = 4 }
            default: if c == 10 { state = 0; boundary = true }
            }
            if boundary, next < targets.count, i + 1 >= targets[next] {
                cuts.append(i + 1)
                while next < targets.count, targets[next] <= i + 1 { next += 1 }
            }
        }
        return cuts
    }

    /// A small deterministic generator (64-bit LCG, high bits).
    struct LCG {
        var state: UInt64
        mutating func below(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6, 7, 8])
    func jumpsFindTheSameBoundaries(seed: UInt64) {
        var random = LCG(state: seed)
        let alphabet: [UInt8] = [34, 34, 44, 10, 10, 97, 98, 32]  // " " , \n \n a b space
        let text = (0..<(2_000 + random.below(3_000))).map { _ in alphabet[random.below(alphabet.count)] }
        let chunk = 1 + random.below(60)
        let targets = stride(from: chunk, to: text.count, by: chunk).map { $0 }
        var scanner = QuotedRecordScanner(quote: 34, delimiter: 44, targets: targets)
        var offset = 0
        while offset < text.count {
            let piece = min(text.count - offset, 1 + random.below(97))
            text[offset..<(offset + piece)].withUnsafeBytes { scanner.scan($0, offset: offset) }
            offset += piece
        }
        let expected = Self.referenceCuts(text, targets: targets, quote: 34, delimiter: 44)
        #expect(!expected.isEmpty)
        #expect(scanner.cuts == expected)
    }

    @Test func textWithoutQuotesCutsAtTheNextLineFeed() {
        let text = Array("ab,c\nde,f\ng\n".utf8)
        var scanner = QuotedRecordScanner(quote: 34, delimiter: 44, targets: [1, 6, 11])
        text.withUnsafeBytes { scanner.scan($0, offset: 0) }
        #expect(scanner.cuts == [5, 10, 12])
    }
}
