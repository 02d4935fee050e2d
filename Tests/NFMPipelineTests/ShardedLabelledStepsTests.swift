import Foundation
import NFMFormat
import NFMTestSupport
import Testing

@testable import NFMPipeline

/// The sharded merge of a labelled definition (`minCount`, OOV, multi-valued and bucketized fields):
/// byte-identical to `nfm build`, the first bad row at merge with its input line.
@Suite struct ShardedLabelledStepsTests {
    static func reference(_ options: DatasetBuilder.Options) throws -> [String: [UInt8]] {
        var options = options
        options.outputDirectory = TestSupport.temporaryDirectory("sharded-labelled") + "/ref"
        options.singlePass = true
        try DatasetBuilder.build(options)
        return TestSupport.snapshot(options.outputDirectory)
    }

    @Test(arguments: [2, 5])
    func labelledShardsGiveTheBytesOfABuild(shards: Int) throws {
        let paths = try LabelledBuildStepsTests.inputs()
        for text in [LabelledPartitionedBuildTests.definition, LabelledBuildStepsTests.oneHot] {
            let out = TestSupport.temporaryDirectory("sharded-labelled") + "/out"
            let options = try LabelledBuildStepsTests.options(paths, out: out, text: text)
            let reference = try Self.reference(options)
            #expect(reference.keys.contains("rejects.tsv") && reference.keys.contains("manifest.json"))
            try ShardedMergeStepsTests.runSteps(options, partitionBytes: 9_000, shards: shards, threads: shards - 1)
            #expect(PartitionedBuildTests.differences(out, reference) == [], "R = \(shards)")
        }
    }

    @Test func aBadLabelledRowSurfacesAtMergeWithItsInputLine() throws {
        let paths = try LabelledBuildStepsTests.inputs(rows: 600)
        let out = TestSupport.temporaryDirectory("sharded-labelled") + "/out"
        let options = try LabelledBuildStepsTests.options(paths, out: out, skipBadRows: false)
        var single = options
        single.outputDirectory = TestSupport.temporaryDirectory("sharded-labelled") + "/ref"
        single.singlePass = true
        let expected = #expect(throws: NFMError.self) { try DatasetBuilder.build(single) }
        let partitions = try BuildSteps.plan(options, partitionBytes: 9_000, mergeShards: 3)
        for i in 0..<partitions { _ = try BuildSteps.map(out: out, partition: i) }
        for s in 0..<3 { _ = try BuildSteps.mergeShard(out: out, shard: s) }
        let error = #expect(throws: NFMError.self) { try BuildSteps.merge(out: out) }
        #expect(error?.code == .input && error?.position == expected?.position && error?.message == expected?.message)
        #expect(expected?.position?.line != nil)
    }
}
