import Foundation
import NFMFormat
import NFMTestSupport
import Testing

@testable import NFMPipeline

/// Issue 11: the partitioned build (in process on N threads, and as separate steps) is byte-identical to
/// the single-pass reference for every thread count, partition size and memory budget.
@Suite struct PartitionedBuildTests {
    static let fixture = TestSupport.fixture("frappe-synthetic.tsv")

    /// Builds `paths` with `frappe.json` (1,000-row shards) after `configure`.
    static func build(
        _ paths: [String], _ configure: (inout DatasetBuilder.Options) -> Void
    ) throws -> (directory: String, manifest: DatasetManifest) {
        try TestSupport.build(definition: "frappe.json", input: paths[0]) { options in
            options.inputPaths = paths
            options.definition.shardRows = 1000
            configure(&options)
        }
    }

    /// Names of the files that differ between the dataset at `directory` and `reference` (a snapshot).
    static func differences(_ directory: String, _ reference: [String: [UInt8]]) -> [String] {
        let snapshot = TestSupport.snapshot(directory)
        return Set(snapshot.keys).union(reference.keys).filter { snapshot[$0] != reference[$0] }.sorted()
    }

    /// The fixture's lines (header first), each without its newline.
    static func lines() throws -> [String] {
        try String(contentsOfFile: fixture, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    @Test func threadsPartitionsAndBudgetsGiveTheReferenceBytes() throws {
        let reference = TestSupport.snapshot(try Self.build([Self.fixture]) { $0.singlePass = true }.directory)
        #expect(reference.keys.contains("manifest.json") && reference.count > 15)
        var builds = 0
        for threads in 1...4 {
            for chunk in [nil, 4096, 777] as [Int?] {
                for budget in [256 << 20, 4096] {
                    let (directory, _) = try Self.build([Self.fixture]) {
                        $0.threads = threads
                        $0.partitionBytes = chunk
                        $0.memoryBudget = budget
                        $0.readBufferSize = threads == 3 ? 16 : 1 << 20
                    }
                    #expect(Self.differences(directory, reference) == [], "threads \(threads) chunk \(chunk ?? 0) budget \(budget)")
                    builds += 1
                }
            }
        }
        #expect(builds == 24)
    }

    @Test func severalCompressedInputsWithRepeatedHeadersGiveTheReferenceBytes() throws {
        let lines = try Self.lines()
        let (header, rows) = (lines[0], Array(lines.dropFirst()))
        let d = TestSupport.temporaryDirectory()
        let paths = [
            try MultiInputTests.part([header] + rows[..<1100], "a.tsv", in: d),
            try MultiInputTests.part(Array(rows[1100..<1700]), "b.tsv.gz", in: d),
            try MultiInputTests.part([header] + rows[1700..<2300], "c.tsv.zst", in: d),
            try MultiInputTests.part([MultiInputTests.reversed(header)] + rows[2300...].map(MultiInputTests.reversed), "d.tsv", in: d),
        ]
        let reference = TestSupport.snapshot(try Self.build(paths) { $0.singlePass = true }.directory)
        for threads in [1, 2, 3, 4] {
            for chunk in [5000, 999] {
                let (directory, manifest) = try Self.build(paths) {
                    $0.threads = threads
                    $0.partitionBytes = chunk
                    $0.memoryBudget = threads.isMultiple(of: 2) ? 4096 : 64 << 20
                }
                #expect(manifest.counts.positives == 3000)
                #expect(Self.differences(directory, reference) == [], "threads \(threads) chunk \(chunk)")
            }
        }
    }

    /// Quoted cells holding line feeds, tabs and doubled quotes, cut into partitions of a few bytes:
    /// the quote-aware cuts never split a record, and line numbers stay those of the whole file.
    @Test func quotedMultiLineCellsAreNeverCut() throws {
        var lines = try Self.lines()
        for i in stride(from: 3, to: 400, by: 7) {
            var cells = lines[i].split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            cells[1] = "\"x\n\(i)\t\"\"q\"\"\""
            lines[i] = cells.joined(separator: "\t")
        }
        lines[402] += "\t\"extra\"tail"  // a malformed tail after a closing quote, then a bad row
        let d = TestSupport.temporaryDirectory()
        let input = TestSupport.write(lines.prefix(600).joined(separator: "\n") + "\n", named: "q.tsv", in: d)
        let reference = try Self.build([input]) { $0.singlePass = true; $0.skipBadRows = true }
        #expect(reference.manifest.counts.rowsRejected == 1)
        for chunk in [13, 64, 1000] {
            let (directory, _) = try Self.build([input]) { $0.threads = 3; $0.partitionBytes = chunk; $0.skipBadRows = true }
            #expect(Self.differences(directory, TestSupport.snapshot(reference.directory)) == [], "chunk \(chunk)")
        }
        let expected = #expect(throws: NFMError.self) { try Self.build([input]) { $0.singlePass = true } }
        for chunk in [13, 200] {
            let error = #expect(throws: NFMError.self) { try Self.build([input]) { $0.threads = 2; $0.partitionBytes = chunk } }
            #expect(error?.code == .input)
            #expect(error?.position == expected?.position && error?.message == expected?.message)
        }
        #expect(expected?.position?.line ?? 0 > 402)
    }

    /// A quoted file whose first 64 KiB hold no quote byte is cut as if it had none (a seek per cut); when
    /// a quoted cell with a line feed comes later, those guessed cuts are wrong, the hash of the input finds
    /// the quote, and the build starts again from the exact cuts: the reference bytes either way.
    @Test func cutsGuessedWithoutQuotesAreRedoneWhenAQuoteTurnsUpLater() throws {
        var lines = try Self.lines()
        #expect(lines.prefix(1400).joined(separator: "\n").utf8.count > 64 << 10)
        for i in stride(from: 1400, to: 2600, by: 2) {
            var cells = lines[i].split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            cells[1] = "\"" + String(repeating: "x", count: 60) + "\n\(i)\n\"\"q\"\"\""
            lines[i] = cells.joined(separator: "\t")
        }
        let d = TestSupport.temporaryDirectory()
        let input = TestSupport.write(lines.joined(separator: "\n") + "\n", named: "late-quotes.tsv", in: d)
        let format = DelimitedReader.Format(delimiter: UInt8(ascii: "\t"), quote: UInt8(ascii: "\""))
        #expect(try !RecordBoundaries.startHoldsQuote(path: input, format: format))
        let size = try PositionedFile(path: input).size()
        let exact = try RecordBoundaries.cuts(path: input, size: size, chunk: 997, format: format)
        let guessed = try RecordBoundaries.cuts(path: input, size: size, chunk: 997, format: format, assumingNoQuote: true)
        #expect(exact != guessed && exact.count > 100)
        let reference = TestSupport.snapshot(try Self.build([input]) { $0.singlePass = true }.directory)
        for threads in [2, 3] {
            let (directory, _) = try Self.build([input]) { $0.threads = threads; $0.partitionBytes = 997 }
            #expect(Self.differences(directory, reference) == [], "threads \(threads)")
        }
        // Without quotes, the guessed cuts are the exact ones.
        let plain = TestSupport.write(try Self.lines().joined(separator: "\n") + "\n", named: "plain.tsv", in: d)
        let plainSize = try PositionedFile(path: plain).size()
        #expect(
            try RecordBoundaries.cuts(path: plain, size: plainSize, chunk: 997, format: format)
                == RecordBoundaries.cuts(path: plain, size: plainSize, chunk: 997, format: format, assumingNoQuote: true))
    }

    @Test func badRowsInLaterPartitionsAreReportedAtTheirInputLine() throws {
        var lines = try Self.lines()
        lines[2500] += "\tsurplus"
        lines[2900] = "only\ttwo"
        let d = TestSupport.temporaryDirectory()
        let paths = [
            TestSupport.write(lines[..<1500].joined(separator: "\n") + "\n", named: "p1.tsv", in: d),
            TestSupport.write(lines[1500...].joined(separator: "\n") + "\n", named: "p2.tsv", in: d),
        ]
        let expected = #expect(throws: NFMError.self) { try Self.build(paths) { $0.singlePass = true } }
        #expect(expected?.position?.file == "p2.tsv" && expected?.position?.line == 1001)
        let rejects = try Self.build(paths) { $0.singlePass = true; $0.skipBadRows = true }
        for threads in [1, 2, 4] {
            let error = #expect(throws: NFMError.self) {
                try Self.build(paths) { $0.threads = threads; $0.partitionBytes = 3000 }
            }
            #expect(error?.position == expected?.position && error?.message == expected?.message)
            let skipped = try Self.build(paths) { $0.threads = threads; $0.partitionBytes = 3000; $0.skipBadRows = true }
            #expect(Self.differences(skipped.directory, TestSupport.snapshot(rejects.directory)) == [])
            #expect(skipped.manifest.counts.rowsRejected == 2)
        }
    }
}
