import Foundation
import NFMFormat
import NFMTestSupport
import Testing

@testable import NFMPipeline

/// Issue 11 §3: the step build of a definition with a label column (`LabelledSteps`) is byte-identical to
/// `nfm build` over several partitions and buckets, reports the first bad row at merge, and refuses
/// damaged labelled step files with a named error.
@Suite struct LabelledBuildStepsTests {
    /// A plain file cut into byte ranges and a gzip file (a whole partition), Criteo-shaped rows.
    static func inputs(rows: Int = 1800) throws -> [String] {
        let lines = LabelledPartitionedBuildTests.lines(rows, seed: 5)
        let d = TestSupport.temporaryDirectory("labelled-steps")
        let cut = rows * 2 / 3
        return [
            try MultiInputTests.part(Array(lines[...cut]), "first.csv", in: d),
            try MultiInputTests.part([lines[0]] + lines[(cut + 1)...], "second.csv.gz", in: d),
        ]
    }

    /// Every field one-hot: the shards take the fixed layout.
    static let oneHot = """
        {
          "name": "one-hot",
          "input": { "delimiter": ",", "quote": "\\"", "header": true },
          "label": { "column": "y", "type": "real", "map": { "yes": 1 } },
          "columns": ["y", "I1", "I2", "I3", "I4", "C1", "C2", "T"],
          "fields": [
            { "name": "I3", "type": "numeric", "bucketize": "log2-squared", "missing": "own-value" },
            { "name": "C1", "type": "categorical", "minCount": 3, "missing": "oov" },
            { "name": "C2", "type": "categorical" }
          ],
          "split": { "train": 0.5, "validation": 0.3, "test": 0.2 },
          "seed": 4, "shardRows": 100
        }
        """

    static func options(
        _ paths: [String], out: String, skipBadRows: Bool = true, text: String = LabelledPartitionedBuildTests.definition
    ) throws -> DatasetBuilder.Options {
        let definition = try DatasetDefinition.parse(text: text, file: "criteo-like.json")
        var options = DatasetBuilder.Options(definition: definition, inputPaths: paths, outputDirectory: out)
        options.skipBadRows = skipBadRows
        options.memoryBudget = 40_000  // a few hundred positions per bucket: several buckets
        return options
    }

    /// Runs plan, maps and merge; returns the partitions and buckets.
    static func plan(_ paths: [String], out: String, skipBadRows: Bool = true) throws -> (partitions: Int, buckets: Int) {
        let partitions = try BuildSteps.plan(try options(paths, out: out, skipBadRows: skipBadRows), partitionBytes: 9000)
        for i in 0..<partitions { _ = try BuildSteps.map(out: out, partition: i) }
        return (partitions, try BuildSteps.merge(out: out).buckets)
    }

    @Test func labelledStepsGiveTheBytesOfABuild() throws {
        let paths = try Self.inputs()
        let out = TestSupport.temporaryDirectory("labelled-steps") + "/out"
        let (partitions, buckets) = try Self.plan(paths, out: out)
        #expect(partitions >= 4 && buckets >= 4)
        var placed = 0
        for i in 0..<partitions { placed += try BuildSteps.place(out: out, partition: i) }
        for j in 0..<buckets { _ = try BuildSteps.reduce(out: out, bucket: j, threads: 2) }
        let manifest = try BuildSteps.finish(out: out)
        #expect(placed == manifest.counts.positives && manifest.counts.rowsRejected > 20)
        #expect(!FileSystem.exists(out + "/.steps"))
        let reference = TestSupport.temporaryDirectory("labelled-steps") + "/ref"
        var options = try Self.options(paths, out: reference)
        options.singlePass = true
        let built = try DatasetBuilder.build(options)
        #expect(built.fields[1].mean != nil && built.shards.count == manifest.shards.count)
        let snapshot = TestSupport.snapshot(reference)
        #expect(snapshot.keys.contains("rejects.tsv"))
        #expect(PartitionedBuildTests.differences(out, snapshot) == [])
    }

    @Test func oneHotLabelledStepsGiveTheFixedLayoutOfABuild() throws {
        let paths = try Self.inputs(rows: 900)
        let out = TestSupport.temporaryDirectory("labelled-steps") + "/out"
        let partitions = try BuildSteps.plan(try Self.options(paths, out: out, text: Self.oneHot), partitionBytes: 9000)
        for i in 0..<partitions { _ = try BuildSteps.map(out: out, partition: i) }
        let (buckets, _) = try BuildSteps.merge(out: out)
        for i in 0..<partitions { _ = try BuildSteps.place(out: out, partition: i) }
        for j in 0..<buckets { _ = try BuildSteps.reduce(out: out, bucket: j, threads: 1) }
        let manifest = try BuildSteps.finish(out: out)
        #expect(manifest.layout == .fixed && partitions >= 2 && buckets >= 2)
        var options = try Self.options(paths, out: TestSupport.temporaryDirectory("labelled-steps") + "/ref", text: Self.oneHot)
        options.singlePass = true
        try DatasetBuilder.build(options)
        #expect(PartitionedBuildTests.differences(out, TestSupport.snapshot(options.outputDirectory)) == [])
    }

    @Test func theFirstBadRowSurfacesAtMergeWithItsInputLine() throws {
        let paths = try Self.inputs()
        var options = try Self.options(paths, out: TestSupport.temporaryDirectory("labelled-steps") + "/ref", skipBadRows: false)
        options.singlePass = true
        let expected = #expect(throws: NFMError.self) { try DatasetBuilder.build(options) }
        #expect(expected?.code == .input && expected?.position?.file == "first.csv")
        let out = TestSupport.temporaryDirectory("labelled-steps") + "/out"
        let error = #expect(throws: NFMError.self) { try Self.plan(paths, out: out, skipBadRows: false) }
        #expect(error?.code == .input)
        #expect(error?.position == expected?.position && error?.message == expected?.message)
    }

    @Test func damagedLabelledStepFilesAreRefusedByName() throws {
        let paths = try Self.inputs(rows: 600)
        let out = TestSupport.temporaryDirectory("labelled-steps") + "/out"
        let (partitions, _) = try Self.plan(paths, out: out)
        let scan = out + "/.steps/map/1.lscan"
        let intact = try ReadableFile.readAll(scan)
        var flipped = intact
        flipped[intact.count / 2] ^= 0x10
        for (bytes, fragment) in [(flipped, "checksum"), (Array(intact.dropLast(3)), "truncated")] {
            try FileSystem.writeAtomically(bytes, to: scan)
            let error = #expect(throws: NFMError.self) { try BuildSteps.merge(out: out) }
            #expect(error?.code == .dataset && error?.position?.file == scan)
            #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "")")
        }
        try FileSystem.writeAtomically(intact, to: scan)
        _ = try BuildSteps.merge(out: out)
        for i in 0..<partitions { _ = try BuildSteps.place(out: out, partition: i) }
        let bucket = out + "/.steps/place/0/lbucket-0.bin"
        var damaged = try ReadableFile.readAll(bucket)
        damaged[damaged.count - 1] ^= 0x01
        try FileSystem.writeAtomically(damaged, to: bucket)
        let error = #expect(throws: NFMError.self) { try BuildSteps.reduce(out: out, bucket: 0, threads: 1) }
        #expect(error?.code == .dataset && error?.position?.file == bucket && error?.message.contains("checksum") == true)
        // A rows file with a valid header whose row does not follow the fields is refused before placement.
        var crafted = StepWriter()
        crafted.words([2, 0, 0xFFFF_FFF0])
        let rows = out + "/.steps/map/0.lrows"
        try StepFile.write(crafted, kind: "LROW", plan: try StepContext(out: out).id, to: rows)
        let bad = #expect(throws: NFMError.self) { try BuildSteps.place(out: out, partition: 0) }
        #expect(bad?.code == .dataset && bad?.position?.file == rows && bad?.message.contains("outside") == true)
        FileSystem.remove(out + "/.steps/merge/lstate.bin")
        let missing = #expect(throws: NFMError.self) { try BuildSteps.place(out: out, partition: 0) }
        #expect(missing?.code == .dataset && missing?.position?.file == out + "/.steps/merge/lstate.bin")
    }
}
