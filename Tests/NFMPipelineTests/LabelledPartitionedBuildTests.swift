import Foundation
import NFMFormat
import NFMTestSupport
import Testing

@testable import NFMPipeline

/// Issue 11: the partitioned labelled build (in process on N threads) is byte-identical to the
/// single-pass reference for every thread count, partition size and memory budget, with numeric
/// transforms, standardize statistics, buckets, multi-valued fields, minCount and bad rows.
@Suite struct LabelledPartitionedBuildTests {
    /// A Criteo-shaped definition touching every field kind; a real label so that the label mean and the
    /// standardize moments are order-sensitive floating-point sums.
    static let definition = """
        {
          "name": "criteo-like",
          "input": { "delimiter": ",", "quote": "\\"", "header": true },
          "label": { "column": "y", "type": "real", "map": { "yes": 1 } },
          "fields": [
            { "name": "I1", "type": "numeric", "transform": "log1p", "missing": "own-value" },
            { "name": "I2", "type": "numeric", "transform": "standardize" },
            { "name": "I3", "type": "numeric", "bucketize": "log2-squared", "missing": "own-value" },
            { "name": "I4", "type": "numeric", "boundaries": [0.5, 3, 40] },
            { "name": "C1", "type": "categorical", "minCount": 3, "missing": "oov" },
            { "name": "C2", "type": "categorical" },
            { "name": "T", "type": "multi", "weight": "mean", "minCount": 2 }
          ],
          "split": { "train": 0.6, "validation": 0.3, "test": 0.1 },
          "seed": 11, "shardRows": 150
        }
        """

    /// `rows` data lines (header first) from a fixed generator; every 97th row has a bad number or label.
    static func lines(_ rows: Int, seed: UInt64 = 7) -> [String] {
        var state = seed
        func next(_ n: UInt64) -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (state >> 33) % n
        }
        var lines = ["y,I1,I2,I3,I4,C1,C2,T"]
        for r in 0..<rows {
            let label = r % 97 == 50 ? "maybe" : next(5) == 0 ? "yes" : String(Double(next(1000)) / 7)
            let i1 = next(6) == 0 ? "" : String(Int(next(2000)) - 100)
            let i2 = r % 97 == 20 ? "1e999" : next(4) == 0 ? "" : String(Double(next(100_000)) / 3.7)
            let i3 = next(5) == 0 ? "" : String(next(50_000))
            let tags = (0..<next(4)).map { _ in "t\(next(40))" }.joined(separator: "|")
            let c1 = next(7) == 0 ? "" : "c\(next(300))"
            let c2 = next(9) == 0 ? "\"q,\(next(5))\"" : "d\(next(60))"
            lines.append("\(label),\(i1),\(i2),\(i3),\(Double(next(900)) / 10),\(c1),\(c2),\(tags)")
        }
        return lines
    }

    /// Builds `paths` with the definition after `configure`.
    static func build(_ paths: [String], _ configure: (inout DatasetBuilder.Options) -> Void) throws
        -> (directory: String, manifest: DatasetManifest)
    {
        let out = TestSupport.temporaryDirectory("labelled-partitioned") + "/out"
        var options = DatasetBuilder.Options(
            definition: try DatasetDefinition.parse(text: definition, file: "criteo-like.json"),
            inputPath: paths[0], outputDirectory: out)
        options.inputPaths = paths
        configure(&options)
        return (out, try DatasetBuilder.build(options))
    }

    @Test func threadsPartitionsAndBudgetsGiveTheReferenceBytes() throws {
        let d = TestSupport.temporaryDirectory()
        let input = TestSupport.write(Self.lines(2500).joined(separator: "\n") + "\n", named: "log.csv", in: d)
        let reference = try Self.build([input]) { $0.singlePass = true; $0.skipBadRows = true }
        let snapshot = TestSupport.snapshot(reference.directory)
        #expect(reference.manifest.counts.rowsRejected > 40 && snapshot.keys.contains("rejects.tsv"))
        #expect(reference.manifest.fields[1].mean != nil && reference.manifest.shards.count > 10)
        var builds = 0
        for threads in 1...3 {
            for chunk in [nil, 9000, 1234] as [Int?] {
                for budget in [256 << 20, 1 << 14] {
                    let (directory, _) = try Self.build([input]) {
                        $0.threads = threads
                        $0.partitionBytes = chunk
                        $0.memoryBudget = budget
                        $0.skipBadRows = true
                        $0.readBufferSize = threads == 3 ? 64 : 1 << 20
                    }
                    #expect(
                        PartitionedBuildTests.differences(directory, snapshot) == [],
                        "threads \(threads) chunk \(chunk ?? 0) budget \(budget)")
                    builds += 1
                }
            }
        }
        #expect(builds == 18)
    }

    @Test func plainAndCompressedInputsGiveTheReferenceBytes() throws {
        let lines = Self.lines(2000, seed: 99)
        let (header, rows) = (lines[0], Array(lines.dropFirst()))
        let d = TestSupport.temporaryDirectory()
        let paths = [
            try MultiInputTests.part([header] + rows[..<700], "a.csv", in: d),
            try MultiInputTests.part([header] + rows[700..<1400], "b.csv.gz", in: d),
            try MultiInputTests.part(Array(rows[1400...]), "c.csv", in: d),
        ]
        let reference = try Self.build(paths) { $0.singlePass = true; $0.skipBadRows = true }
        let snapshot = TestSupport.snapshot(reference.directory)
        for (threads, chunk) in [(1, nil), (2, 5000), (4, 777)] as [(Int, Int?)] {
            let (directory, manifest) = try Self.build(paths) {
                $0.threads = threads
                $0.partitionBytes = chunk
                $0.memoryBudget = threads == 4 ? 1 << 14 : 64 << 20
                $0.skipBadRows = true
            }
            #expect(manifest.counts.rowsRead == 2000)
            #expect(PartitionedBuildTests.differences(directory, snapshot) == [], "threads \(threads) chunk \(chunk ?? 0)")
        }
    }

    @Test func theFirstBadRowIsReportedAtItsInputLine() throws {
        let d = TestSupport.temporaryDirectory()
        let input = TestSupport.write(Self.lines(600).joined(separator: "\n") + "\n", named: "log.csv", in: d)
        let expected = #expect(throws: NFMError.self) { try Self.build([input]) { $0.singlePass = true } }
        #expect(expected?.code == .input && expected?.position?.line == 22)
        for (threads, chunk) in [(1, nil), (2, 300), (3, 2000)] as [(Int, Int?)] {
            let error = #expect(throws: NFMError.self) {
                try Self.build([input]) { $0.threads = threads; $0.partitionBytes = chunk }
            }
            #expect(error?.code == .input)
            #expect(error?.position == expected?.position && error?.message == expected?.message)
        }
    }
}
