import Foundation
import NFMFormat
import NFMPipeline
import NFMTestSupport
import Testing

/// Seeded byte mutations of valid inputs: insert, delete, overwrite, duplicate a span, splice a token
/// that parsers find interesting, or truncate; 1–4 mutations per case.
struct Mutator {
    var random: SplitMix64
    static let tokens: [[UInt8]] = [
        "{", "}", "[", "]", "\"", ",", ":", "\\u", "\\ud800", "1e999", "-0", "0.0e-400", "99999999999999999999999",
        "null", "true", " ", "\n", "\t", "nan", "inf", "4294967295", "2147483647", ":", "\u{FEFF}", "é",
    ].map { Array($0.utf8) } + [[0xFF], [0xC3], [0x00], [0x1F, 0x8B], [0xEF, 0xBB, 0xBF]]

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    mutating func below(_ bound: Int) -> Int { Int(random.below(UInt64(max(bound, 1)))) }

    mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0...below(4) {
            let at = below(bytes.count + 1)
            switch below(6) {
            case 0: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: at)
            case 1 where at < bytes.count: bytes.removeSubrange(at..<min(bytes.count, at + 1 + below(8)))
            case 2 where at < bytes.count: bytes[at] = UInt8(truncatingIfNeeded: random.next())
            case 3 where at < bytes.count:
                let span = Array(bytes[at..<min(bytes.count, at + 1 + below(40))])
                bytes.insert(contentsOf: span, at: below(bytes.count + 1))
            case 4: bytes.insert(contentsOf: Self.tokens[below(Self.tokens.count)], at: at)
            default: bytes = Array(bytes.prefix(at))
            }
        }
        return bytes
    }
}

/// Bytes served in chunks of seeded sizes, as a pipe would.
final class ChunkedSource: ByteSource {
    private let bytes: [UInt8]
    private var offset = 0
    private var random: SplitMix64

    init(_ bytes: [UInt8], seed: UInt64) {
        self.bytes = bytes
        random = SplitMix64(seed: seed)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, bytes.count - offset, 1 + Int(random.below(64)))
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
        offset += n
        return n
    }
}

/// Never a trap, always a value or an `NFMError`: a short seeded smoke of the definition parser and the
/// libFM reader. `NFM_FUZZ_MUTATIONS=N` runs N cases per parser instead of 2,000 (long runs, not in CI).
@Suite struct FuzzSmokeTests {
    static let mutations = ProcessInfo.processInfo.environment["NFM_FUZZ_MUTATIONS"].flatMap { Int($0) } ?? 2000

    @Test func definitionParser() throws {
        let seeds = [DefinitionText.text(), try String(contentsOfFile: TestSupport.pipeline("frappe.json"), encoding: .utf8)]
            .map { Array($0.utf8) }
        var mutator = Mutator(seed: 0x5EED_0001)
        var (parsed, refused) = (0, 0)
        for i in 0..<Self.mutations {
            let input = mutator.mutate(seeds[i % seeds.count])
            do {
                _ = try DatasetDefinition.parse(input, file: "fuzz.json")
                parsed += 1
            } catch let error as NFMError {
                #expect(error.code == .definition, "\(error)")
                #expect(error.position?.file == "fuzz.json")
                #expect(error.message.utf8.count < 600)
                refused += 1
            }
        }
        #expect(parsed + refused == Self.mutations && parsed > 0 && refused > 0)
    }

    @Test func libFMReader() throws {
        let seed = Array("1 0:1 5:0.5\n-1 3:2\n\n0.25\t1:1 2:1 9:-1.5\r\n+1 2147483646:1e-3\n".utf8)
        var mutator = Mutator(seed: 0x5EED_0002)
        var (rows, refused) = (0, 0)
        for i in 0..<Self.mutations {
            let input = mutator.mutate(seed)
            let reader = try DelimitedReader(
                source: ChunkedSource(input, seed: UInt64(i)), name: "fuzz.libfm", format: .init(delimiter: 0, quote: nil),
                bufferSize: 16, maximumRecordBytes: LibFMLine.maximumLineBytes)
            var row = LibFMRow()
            do {
                try reader.forEachRecord { record in
                    if let problem = record.problem {
                        throw NFMError(.input, file: "fuzz.libfm", line: problem.line, column: problem.column, problem.message)
                    }
                    if try LibFMLine.parse(record.raw, into: &row, file: "fuzz.libfm", line: record.line) {
                        #expect(row.label.isFinite && row.values.allSatisfy(\.isFinite))
                        #expect(row.indices.allSatisfy { Int($0) <= LibFMLine.maximumIndex })
                        rows += 1
                    }
                }
            } catch let error as NFMError {
                #expect(error.code == .input, "\(error)")
                #expect(error.position?.line != nil && error.position?.column != nil)
                refused += 1
            }
        }
        #expect(rows > 0 && refused > 0)
    }
}
