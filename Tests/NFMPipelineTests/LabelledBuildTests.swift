import Foundation
import NFMFormat
@testable import NFMPipeline
import NFMTestSupport
import Testing

/// The labelled build (explicit label column): the encoding of every field kind checked row by row,
/// determinism over memory budgets, bad rows, standardize statistics, and the two real samples.
@Suite struct LabelledBuildTests {
    static let definition = """
        {
          "name": "ctr",
          "input": { "delimiter": "," },
          "label": { "column": "click", "type": "binary" },
          "fields": [
            { "name": "site", "minCount": 2, "missing": "oov" },
            { "name": "count", "type": "numeric", "transform": "log1p", "missing": "own-value" },
            { "name": "price", "type": "numeric", "boundaries": [1, 10, 100] },
            { "name": "tags", "type": "multi", "weight": "mean" }
          ],
          "seed": 3, "shardRows": 2
        }
        """
    static let log = """
        click,site,count,price,tags,extra
        1,a,3,5,x|y,foo
        0,b,,50,,bar
        1,a,-2,500,x,baz
        0,c,0,,y|z|x,q
        1,,10,0.5,,w
        0,b,7,5,z,e

        """

    /// One instance as (label, sorted (index, value) entries), for order-free comparisons.
    struct Row: Comparable, CustomStringConvertible {
        var label: Float
        var entries: [(UInt32, Float)]
        static func == (a: Row, b: Row) -> Bool {
            a.label == b.label && a.entries.count == b.entries.count
                && zip(a.entries, b.entries).allSatisfy { $0.0 == $1.0 && abs($0.1 - $1.1) <= 1e-6 }
        }
        static func < (a: Row, b: Row) -> Bool { a.key < b.key }
        /// The label and indices, which tell the rows of these tests apart.
        var key: String { "\(label) " + entries.map { String($0.0) }.joined(separator: " ") }
        var description: String { "\(label) " + entries.map { "\($0.0):\($0.1)" }.joined(separator: " ") }
    }

    static func rows(_ directory: String, _ manifest: DatasetManifest, splits: [Split] = Split.allCases) throws -> [Row] {
        var rows: [Row] = []
        for split in splits {
            let block = try TestSupport.instances(directory, manifest, split)
            for r in 0..<block.rowCount {
                let range =
                    block.layout == .fixed
                    ? r * block.fieldCount..<(r + 1) * block.fieldCount : Int(block.rowOffsets[r])..<Int(block.rowOffsets[r + 1])
                let entries = range.map { (block.indices[$0], block.layout == .fixed ? Float(1) : block.values[$0]) }
                    .sorted { $0.0 < $1.0 }
                rows.append(Row(label: block.labels[r], entries: entries))
            }
        }
        return rows.sorted()
    }

    static func build(_ definition: String, _ log: String, configure: (inout DatasetBuilder.Options) -> Void = { _ in })
        throws -> (String, DatasetManifest)
    {
        let directory = TestSupport.temporaryDirectory("labelled")
        let out = directory + "/out"
        var options = DatasetBuilder.Options(
            definition: try DatasetDefinition.parse(text: definition, file: "ctr.json"),
            inputPath: TestSupport.write(log, named: "log.csv", in: directory), outputDirectory: out)
        configure(&options)
        return (out, try DatasetBuilder.build(options))
    }

    @Test func everyFieldKindEncodesAsSpecified() throws {
        let (out, manifest) = try Self.build(Self.definition, Self.log)
        // site: a(2) b(2) kept, c(1) and the empty cell → OOV 2; count: value 3, indicator 4;
        // price buckets in first-appearance order "1" "2" "3" "0" → 5…8; tags x y z → 9…11.
        #expect(manifest.fields.map(\.offset) == [0, 3, 5, 9] && manifest.featureCount == 12)
        #expect(manifest.fields.map(\.oov) == [2, nil, nil, nil])
        #expect(manifest.fields.map(\.kind) == [nil, "numeric", "numeric", "multi"])
        #expect(manifest.fields[1].vocabulary == "" && manifest.layout == .sparse)
        #expect(manifest.counts.positives == 6 && manifest.counts.negatives == 0 && manifest.counts.instances == 6)
        #expect(manifest.labels == .init(positive: 1, negative: 0) && manifest.negativeRule == nil)
        #expect(manifest.label == .init(column: "click", type: "binary", minimum: 0, maximum: 1, mean: 0.5, atMaximum: 3))
        let ln = { (x: Float) in Float(Foundation.log(1 + Double(x))) }
        let third = Float(1) / 3
        let expected = [
            Row(label: 1, entries: [(0, 1), (3, ln(3)), (5, 1), (9, 0.5), (10, 0.5)]),
            Row(label: 0, entries: [(1, 1), (4, 1), (6, 1)]),
            Row(label: 1, entries: [(0, 1), (3, -ln(2)), (7, 1), (9, 1)]),
            Row(label: 0, entries: [(2, 1), (3, 0), (10, third), (11, third), (9, third)].sorted { $0.0 < $1.0 }),
            Row(label: 1, entries: [(2, 1), (3, ln(10)), (8, 1)]),
            Row(label: 0, entries: [(1, 1), (3, ln(7)), (5, 1), (11, 1)]),
        ]
        #expect(try Self.rows(out, manifest) == expected.sorted())
        let site = try String(contentsOfFile: out + "/" + manifest.fields[0].vocabulary, encoding: .utf8)
        #expect(site == "index\tcount\tvalue\n0\t2\ta\n1\t2\tb\n")
        let price = try String(contentsOfFile: out + "/" + manifest.fields[2].vocabulary, encoding: .utf8)
        #expect(price.split(separator: "\n").dropFirst().map { $0.split(separator: "\t").last! } == ["1", "2", "3", "0"])
        #expect(manifest.shards.allSatisfy { $0.rows <= 2 })
    }

    @Test func outputDoesNotDependOnMemoryOrBuffers() throws {
        var state: UInt64 = 12345
        func next(_ n: UInt64) -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (state >> 33) % n
        }
        var log = "click,site,count,price,tags\n"
        for _ in 0..<3000 {
            let tags = (0..<next(4)).map { _ in "t\(next(30))" }.joined(separator: "|")
            let count = next(5) == 0 ? "" : String(next(1000))
            log += "\(next(2)),s\(next(200)),\(count),\(next(300)),\(tags)\n"
        }
        let (a, _) = try Self.build(Self.definition, log)
        let (b, manifest) = try Self.build(Self.definition, log) {
            $0.memoryBudget = 1 << 14
            $0.readBufferSize = 64
            $0.threads = 1
        }
        let left = TestSupport.snapshot(a)
        #expect(left.count > 10 && left == TestSupport.snapshot(b))
        #expect(manifest.counts.instances == 3000 && manifest.shards.count > 100)
    }

    @Test func standardizedNumbersUseTrainStatistics() throws {
        let definition = """
            { "name": "s", "input": { "delimiter": "," }, "label": { "column": "y", "type": "real" },
              "fields": [ { "name": "x", "type": "numeric", "transform": "standardize" }, "g" ] }
            """
        let log = "y,x,g\n" + (0..<400).map { i in "\(Double(i % 7) / 2),\(i * i % 97),g\(i % 3)" }.joined(separator: "\n")
        let (out, manifest) = try Self.build(definition, log)
        let field = manifest.fields[0]
        let mean = try #require(field.mean)
        let stddev = try #require(field.stddev)
        #expect(stddev > 1 && manifest.label?.type == "real" && manifest.labels.positive == 3)
        let train = try TestSupport.instances(out, manifest, .train)
        let values = (0..<train.rowCount).map { Double(train.values[Int(train.rowOffsets[$0])]) }
        let trainMean = values.reduce(0, +) / Double(values.count)
        let trainVariance = values.map { ($0 - trainMean) * ($0 - trainMean) }.reduce(0, +) / Double(values.count)
        #expect(abs(trainMean) < 1e-5 && abs(trainVariance - 1) < 1e-4)
        let test = try TestSupport.instances(out, manifest, .test)
        let raw = (0..<test.rowCount).map { Double(test.values[Int(test.rowOffsets[$0])]) * stddev + mean }
        #expect(raw.allSatisfy { abs($0 - $0.rounded()) < 1e-3 })
    }

    @Test func badLabelsAndNumbersArePositionedOrSkipped() throws {
        let badLabel = Self.log.replacingOccurrences(of: "0,c,0,,y|z|x,q", with: "2,c,0,,y|z|x,q")
        let labelError = try #require(throws: NFMError.self) { try Self.build(Self.definition, badLabel) }
        #expect(labelError.code == .input && labelError.position?.line == 5 && labelError.position?.column == 1)
        #expect(labelError.message.contains("label: expected one of [\"0\", \"1\"], found '2'"))
        let badNumber = Self.log.replacingOccurrences(of: "0,b,7,5,z,e", with: "0,b,7x,5,z,e")
        let numberError = try #require(throws: NFMError.self) { try Self.build(Self.definition, badNumber) }
        #expect(numberError.position?.line == 7 && numberError.position?.column == 5)
        #expect(numberError.message.contains("field count: expected a number, found '7x'"))
        let huge = try #require(throws: NFMError.self) {
            try Self.build(
                Self.definition.replacingOccurrences(of: "\"log1p\"", with: "\"none\""),
                Self.log.replacingOccurrences(of: "0,b,7,5,z,e", with: "0,b,1e300,5,z,e"))
        }
        #expect(huge.position?.column == 5 && huge.message.contains("beyond the range of a 32-bit float"))
        let (out, manifest) = try Self.build(Self.definition, badNumber.replacingOccurrences(of: "1,a,3,", with: "yes,a,3,")) {
            $0.skipBadRows = true
        }
        #expect(manifest.counts.rowsRejected == 2 && manifest.counts.instances == 4)
        let rejects = try String(contentsOfFile: out + "/" + DatasetBuilder.rejectsFile, encoding: .utf8)
        #expect(rejects.contains("found 'yes'") && rejects.contains("found '7x'"))
    }

    static let samples = TestSupport.packageRoot + "/../shared/datasets/deepctr-samples"

    @Test(.enabled(if: FileManager.default.fileExists(atPath: samples + "/criteo_sample.txt")))
    func theCriteoSampleBuildsWithoutNegatives() throws {
        let (out, manifest) = try TestSupport.build(definition: "criteo.json", input: Self.samples + "/criteo_sample.txt")
        #expect(manifest.counts.instances == 200 && manifest.counts.negatives == 0 && manifest.layout == .sparse)
        #expect(manifest.fields.count == 39 && manifest.fields.prefix(13).allSatisfy { $0.cardinality == 2 })
        let rows = try Self.rows(out, manifest)
        #expect(rows.contains { $0.entries.contains { $0.1 != 1 && $0.1 != 0 } })
        #expect(Set(rows.map(\.label)) == [0, 1] && rows.allSatisfy { $0.entries.count == 39 })
        #expect(try DatasetVerifier.verify(directory: out).isValid)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: samples + "/movielens_sample.txt")))
    func theMovieLensSampleHasVariableLengthRows() throws {
        let (out, manifest) = try TestSupport.build(definition: "movielens-ratings.json", input: Self.samples + "/movielens_sample.txt")
        #expect(manifest.counts.instances == 200 && manifest.layout == .sparse && manifest.fields[2].kind == "multi")
        let rows = try Self.rows(out, manifest)
        #expect(Set(rows.map(\.entries.count)).count > 1)
        #expect(Set(rows.map(\.label)).isSubset(of: [1, 2, 3, 4, 5]) && manifest.label?.type == "real")
    }
}
