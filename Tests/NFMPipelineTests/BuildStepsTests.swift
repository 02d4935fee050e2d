import Foundation
import NFMFormat
import NFMTestSupport
import Testing

@testable import NFMPipeline

/// Issue 11 §3: the build as separate steps through `OUT/.steps` is byte-identical to `nfm build`, reports
/// a bad row at merge with its input line, and refuses damaged, truncated or stale step files.
@Suite struct BuildStepsTests {
    /// Two inputs: a plain file cut into byte ranges and a gzip file (a whole partition).
    static func inputs(badLine: Int? = nil) throws -> [String] {
        var lines = try PartitionedBuildTests.lines()
        if let badLine { lines[badLine] += "\tsurplus" }
        let d = TestSupport.temporaryDirectory()
        return [
            try MultiInputTests.part(Array(lines[..<2001]), "first.tsv", in: d),
            try MultiInputTests.part([lines[0]] + lines[2001...], "second.tsv.gz", in: d),
        ]
    }

    static func options(_ paths: [String], out: String) throws -> DatasetBuilder.Options {
        // The plan keeps the definition's text: 1,000-row shards are set there.
        let text = try String(contentsOfFile: TestSupport.pipeline("frappe.json"), encoding: .utf8)
            .replacingOccurrences(of: "\"shardRows\": 65536", with: "\"shardRows\": 1000")
        let definition = try DatasetDefinition.parse(text: text, file: "frappe.json")
        #expect(definition.shardRows == 1000)
        var options = DatasetBuilder.Options(definition: definition, inputPaths: paths, outputDirectory: out)
        options.memoryBudget = 40_000  // about 833 positions per bucket: one shard per bucket
        return options
    }

    /// Runs plan, every map, merge, every place, every reduce and finish; returns the buckets.
    @discardableResult
    static func runSteps(_ paths: [String], out: String, partitionBytes: Int = 20_000) throws -> Int {
        let partitions = try BuildSteps.plan(try options(paths, out: out), partitionBytes: partitionBytes)
        for i in 0..<partitions { _ = try BuildSteps.map(out: out, partition: i) }
        let (buckets, _) = try BuildSteps.merge(out: out)
        for i in 0..<partitions { _ = try BuildSteps.place(out: out, partition: i) }
        for j in 0..<buckets { _ = try BuildSteps.reduce(out: out, bucket: j, threads: 2) }
        _ = try BuildSteps.finish(out: out)
        return buckets
    }

    @Test func stepsInOrderGiveTheBytesOfABuild() throws {
        let paths = try Self.inputs()
        let out = TestSupport.temporaryDirectory("steps") + "/out"
        let partitions = try BuildSteps.plan(try Self.options(paths, out: out), partitionBytes: 20_000)
        #expect(partitions >= 5)  // the plain file is cut into byte ranges
        FileSystem.remove(out)
        let buckets = try Self.runSteps(paths, out: out)
        #expect(buckets == 10)  // one shard each: 7 train, 2 validation, 1 test
        #expect(!FileSystem.exists(out + "/.steps"))
        let reference = TestSupport.temporaryDirectory("steps") + "/ref"
        var options = try Self.options(paths, out: reference)
        options.singlePass = true
        try DatasetBuilder.build(options)
        #expect(PartitionedBuildTests.differences(out, TestSupport.snapshot(reference)) == [])
        #expect(try DatasetVerifier.verify(directory: out).isValid)
    }

    @Test func aBadRowSurfacesAtMergeWithItsInputLine() throws {
        let paths = try Self.inputs(badLine: 1700)
        let reference = TestSupport.temporaryDirectory("steps") + "/ref"
        var options = try Self.options(paths, out: reference)
        options.singlePass = true
        let expected = #expect(throws: NFMError.self) { try DatasetBuilder.build(options) }
        #expect(expected?.position?.line == 1701 && expected?.position?.file == "first.tsv")
        let out = TestSupport.temporaryDirectory("steps") + "/out"
        let partitions = try BuildSteps.plan(try Self.options(paths, out: out), partitionBytes: 20_000)
        for i in 0..<partitions { _ = try BuildSteps.map(out: out, partition: i) }
        let error = #expect(throws: NFMError.self) { try BuildSteps.merge(out: out) }
        #expect(error?.code == .input)
        #expect(error?.position == expected?.position && error?.message == expected?.message)
    }

    @Test func damagedTruncatedOrStaleStepFilesAreRefused() throws {
        let paths = try Self.inputs()
        let out = TestSupport.temporaryDirectory("steps") + "/out"
        let partitions = try BuildSteps.plan(try Self.options(paths, out: out), partitionBytes: 20_000)
        for i in 0..<partitions { _ = try BuildSteps.map(out: out, partition: i) }
        let scan = out + "/.steps/map/1.scan"
        let intact = try ReadableFile.readAll(scan)
        var flipped = intact
        flipped[intact.count / 2] ^= 0x40
        for (bytes, fragment) in [
            (flipped, "checksum"), (Array(intact.dropLast(5)), "truncated"), (Array(intact.prefix(20)), "bad magic"),
        ] {
            try FileSystem.writeAtomically(bytes, to: scan)
            let error = #expect(throws: NFMError.self) { try BuildSteps.merge(out: out) }
            #expect(error?.code == .dataset && error?.position?.file == scan)
            #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "")")
        }
        try FileSystem.writeAtomically(intact, to: scan)
        _ = try BuildSteps.merge(out: out)
        // A rows file from another plan (another seed) is stale.
        let other = TestSupport.temporaryDirectory("steps") + "/other"
        var options = try Self.options(paths, out: other)
        options.seed = 99
        _ = try BuildSteps.plan(options, partitionBytes: 20_000)
        _ = try BuildSteps.map(out: other, partition: 0)
        try FileSystem.writeAtomically(try ReadableFile.readAll(other + "/.steps/map/0.rows"), to: out + "/.steps/map/0.rows")
        let stale = #expect(throws: NFMError.self) { try BuildSteps.place(out: out, partition: 0) }
        #expect(stale?.code == .dataset && stale?.message.contains("stale") == true)
        FileSystem.remove(out + "/.steps/map/0.rows")
        let missing = #expect(throws: NFMError.self) { try BuildSteps.place(out: out, partition: 0) }
        #expect(missing?.code == .dataset && missing?.message.contains("missing") == true)
    }

    @Test func aLabelledDefinitionIsPlannedAndStandardInputRefused() throws {
        let out = TestSupport.temporaryDirectory("steps") + "/out"
        var options = try LabelledBuildStepsTests.options(try LabelledBuildStepsTests.inputs(rows: 100), out: out)
        #expect(try BuildSteps.plan(options, partitionBytes: 1 << 20) == 2)
        #expect(FileSystem.exists(out + "/.steps/plan.json"))
        options.inputPaths = ["-"]
        options.outputDirectory = out + "-stdin"
        let error = #expect(throws: NFMError.self) { try BuildSteps.plan(options, partitionBytes: 1 << 20) }
        #expect(error?.code == .usage && error?.message.contains("standard input") == true)
    }
}
