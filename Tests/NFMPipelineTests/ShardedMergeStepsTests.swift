import Foundation
import NFMFormat
import NFMTestSupport
import Testing

@testable import NFMPipeline

/// The sharded merge (`plan --merge-shards R`, `merge-shard S`, a light `merge`): byte-identical to
/// `nfm build` for every R, partition size and input kind; damaged, truncated, stale or missing shard
/// files are refused naming the file; a rerun shard step writes the same bytes.
@Suite struct ShardedMergeStepsTests {
    /// Three inputs: plain (cut into byte ranges), gzip and zstd (whole partitions).
    static func inputs(badLine: Int? = nil) throws -> [String] {
        var lines = try PartitionedBuildTests.lines()
        if let badLine { lines[badLine] += "\tsurplus" }
        let d = TestSupport.temporaryDirectory()
        return [
            try MultiInputTests.part(Array(lines[..<1501]), "first.tsv", in: d),
            try MultiInputTests.part([lines[0]] + lines[1501..<2301], "second.tsv.gz", in: d),
            try MultiInputTests.part([lines[0]] + lines[2301...], "third.tsv.zst", in: d),
        ]
    }

    /// Runs every step with `shards` merge shards (the shards in reverse order: any order works) and a merge
    /// on `threads` threads; returns the distinct values the shards reported.
    @discardableResult
    static func runSteps(_ options: DatasetBuilder.Options, partitionBytes: Int, shards: Int, threads: Int = 1) throws -> Int {
        let out = options.outputDirectory
        let partitions = try BuildSteps.plan(options, partitionBytes: partitionBytes, mergeShards: shards)
        for i in 0..<partitions { _ = try BuildSteps.map(out: out, partition: i) }
        var values = 0
        if shards > 1 {
            for s in (0..<shards).reversed() { values += try BuildSteps.mergeShard(out: out, shard: s).values }
        }
        let (buckets, _) = try BuildSteps.merge(out: out, threads: threads)
        for i in 0..<partitions { _ = try BuildSteps.place(out: out, partition: i) }
        for j in 0..<buckets { _ = try BuildSteps.reduce(out: out, bucket: j, threads: 1) }
        _ = try BuildSteps.finish(out: out)
        return values
    }

    static func reference(_ paths: [String], rule: String? = nil) throws -> [String: [UInt8]] {
        var options = try BuildStepsTests.options(paths, out: TestSupport.temporaryDirectory("sharded") + "/ref")
        options.singlePass = true
        options.rule = rule
        try DatasetBuilder.build(options)
        return TestSupport.snapshot(options.outputDirectory)
    }

    @Test(arguments: [1, 2, 3, 7])
    func everyShardCountGivesTheBytesOfABuild(shards: Int) throws {
        let paths = try Self.inputs()
        let reference = try Self.reference(paths)
        #expect(reference.keys.contains("manifest.json") && reference.count > 10)
        for partitionBytes in [30_000, 9_000] {
            let out = TestSupport.temporaryDirectory("sharded") + "/out"
            let values = try Self.runSteps(
                try BuildStepsTests.options(paths, out: out), partitionBytes: partitionBytes, shards: shards,
                threads: partitionBytes < 10_000 ? 3 : 1)
            #expect(PartitionedBuildTests.differences(out, reference) == [], "R = \(shards), \(partitionBytes) bytes")
            let vocabularyLines = reference.filter { $0.key.hasPrefix("vocab/") }.values.reduce(0) { $0 + $1.count { $0 == 10 } - 1 }
            #expect(values == (shards > 1 ? vocabularyLines : 0))
        }
    }

    @Test func aRuleOfSeveralFieldsGivesTheBytesOfABuild() throws {
        let paths = try Self.inputs()
        let reference = try Self.reference(paths, rule: "context")
        let out = TestSupport.temporaryDirectory("sharded") + "/out"
        var options = try BuildStepsTests.options(paths, out: out)
        options.rule = "context"
        try Self.runSteps(options, partitionBytes: 12_000, shards: 3, threads: 2)
        #expect(PartitionedBuildTests.differences(out, reference) == [])
    }

    @Test func aBadRowSurfacesAtMergeWithItsInputLine() throws {
        let paths = try Self.inputs(badLine: 2400)
        var options = try BuildStepsTests.options(paths, out: TestSupport.temporaryDirectory("sharded") + "/ref")
        options.singlePass = true
        let expected = #expect(throws: NFMError.self) { try DatasetBuilder.build(options) }
        #expect(expected?.position?.file == "third.tsv.zst" && expected?.position?.line == 101)
        let out = TestSupport.temporaryDirectory("sharded") + "/out"
        let partitions = try BuildSteps.plan(try BuildStepsTests.options(paths, out: out), partitionBytes: 9_000, mergeShards: 2)
        for i in 0..<partitions { _ = try BuildSteps.map(out: out, partition: i) }
        for s in 0..<2 { _ = try BuildSteps.mergeShard(out: out, shard: s) }
        let error = #expect(throws: NFMError.self) { try BuildSteps.merge(out: out) }
        #expect(error?.code == .input && error?.position == expected?.position && error?.message == expected?.message)
    }

    /// Plans and maps with 3 merge shards; returns OUT and the number of partitions.
    static func mapped() throws -> (out: String, partitions: Int) {
        let out = TestSupport.temporaryDirectory("sharded") + "/out"
        let partitions = try BuildSteps.plan(try BuildStepsTests.options(try inputs(), out: out), partitionBytes: 9_000, mergeShards: 3)
        for i in 0..<partitions { _ = try BuildSteps.map(out: out, partition: i) }
        return (out, partitions)
    }

    @Test func damagedTruncatedStaleOrMissingShardFilesAreRefusedNamingThem() throws {
        let (out, _) = try Self.mapped()
        for s in 0..<3 { _ = try BuildSteps.mergeShard(out: out, shard: s) }
        let shard = out + "/.steps/mshard/1.bin"
        let intact = try ReadableFile.readAll(shard)
        var flipped = intact
        flipped[intact.count - 3] ^= 0x10
        for (bytes, fragment) in [
            (flipped, "checksum"), (Array(intact.dropLast(5)), "truncated"), (Array(intact.prefix(20)), "bad magic"),
        ] {
            try FileSystem.writeAtomically(bytes, to: shard)
            let error = #expect(throws: NFMError.self) { try BuildSteps.merge(out: out) }
            #expect(error?.code == .dataset && error?.position?.file == shard)
            #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "")")
        }
        // Shard 2's output under shard 1's name: stale (another shard).
        try FileSystem.writeAtomically(try ReadableFile.readAll(out + "/.steps/mshard/2.bin"), to: shard)
        let stale = #expect(throws: NFMError.self) { try BuildSteps.merge(out: out) }
        #expect(stale?.code == .dataset && stale?.position?.file == shard && stale?.message.contains("stale") == true)
        FileSystem.remove(shard)
        let missing = #expect(throws: NFMError.self) { try BuildSteps.merge(out: out) }
        #expect(missing?.code == .dataset && missing?.position?.file == shard && missing?.message.contains("missing") == true)
        // A truncated map values file fails the shard step, naming it.
        let values = out + "/.steps/map/2.vals"
        try FileSystem.writeAtomically(Array(try ReadableFile.readAll(values).dropLast(1)), to: values)
        let truncated = #expect(throws: NFMError.self) { try BuildSteps.mergeShard(out: out, shard: 1) }
        #expect(truncated?.code == .dataset && truncated?.position?.file == values)
    }

    @Test func aShardOfAnotherPlanIsStale() throws {
        let (out, _) = try Self.mapped()
        let (other, _) = try Self.mapped()
        for s in 0..<3 {
            _ = try BuildSteps.mergeShard(out: out, shard: s)
            _ = try BuildSteps.mergeShard(out: other, shard: s)
        }
        _ = try BuildSteps.merge(out: out)
        // `other` has the same inputs but another OUT: another plan id.
        try FileSystem.writeAtomically(try ReadableFile.readAll(other + "/.steps/mshard/0.values"), to: out + "/.steps/mshard/0.values")
        let error = #expect(throws: NFMError.self) { try BuildSteps.finish(out: out) }
        #expect(error?.code == .dataset && error?.message.contains("stale") == true)
        #expect(error?.position?.file == out + "/.steps/mshard/0.values")
    }

    @Test func rerunningAShardStepWritesTheSameBytes() throws {
        let (out, _) = try Self.mapped()
        _ = try BuildSteps.mergeShard(out: out, shard: 2)
        let first = TestSupport.snapshot(out + "/.steps/mshard")
        _ = try BuildSteps.mergeShard(out: out, shard: 2)
        #expect(first.count == 2 && TestSupport.snapshot(out + "/.steps/mshard") == first)
    }

    @Test func shardRequestsOutsideThePlanAreUsageErrors() throws {
        let (out, _) = try Self.mapped()
        let range = #expect(throws: NFMError.self) { try BuildSteps.mergeShard(out: out, shard: 3) }
        #expect(range?.code == .usage)
        let single = TestSupport.temporaryDirectory("sharded") + "/single"
        _ = try BuildSteps.plan(try BuildStepsTests.options(try Self.inputs(), out: single), partitionBytes: 9_000)
        let unsharded = #expect(throws: NFMError.self) { try BuildSteps.mergeShard(out: single, shard: 0) }
        #expect(unsharded?.code == .usage)
        let many = TestSupport.temporaryDirectory("sharded") + "/many"
        let options = try BuildStepsTests.options(try Self.inputs(), out: many)
        let refused = #expect(throws: NFMError.self) { try BuildSteps.plan(options, partitionBytes: 9_000, mergeShards: 4_097) }
        #expect(refused?.code == .usage && refused?.message.contains("--merge-shards") == true)
        #expect(!FileSystem.exists(many + "/.steps/plan.json"))
    }

    @Test func aPlaceStepReadsOnlyItsKeysPairsOrTheWholeTable() throws {
        let context = try StepContext(out: try Self.mapped().out)
        let table = PairTable(keyCount: 10) { yield in
            for key in 0..<10 { for value in 0..<(key + 1) { yield(key, UInt32(3 * value)) } }
        }
        try PartitionPairs.write(context, keys: [[7, 2], Array(0..<10)], table: table)
        #expect(FileSystem.exists(PartitionPairs.globalPath(context)))
        let own = try PartitionPairs.read(context, partition: 0, keyCount: 10)
        #expect(own.keys == [2, 7] && own.table.keyCount == 2)
        #expect(own.table.contains(key: 1, value: 21) && !own.table.contains(key: 0, value: 9) && own.table.count(key: 0) == 3)
        let whole = try PartitionPairs.read(context, partition: 1, keyCount: 10)
        #expect(whole.keys == (0..<10).map(UInt32.init) && whole.table == table)
        let damaged = #expect(throws: NFMError.self) { try PartitionPairs.read(context, partition: 0, keyCount: 5) }
        #expect(damaged?.code == .dataset && damaged?.position?.file == PartitionPairs.path(context, 0))
    }

    @Test func theShardOfAValueIsAFixedFunctionOfItsBytes() {
        // Pinned values: a change of the hash would reshuffle every sharded build's intermediate files.
        let shards = ["", "a", "user42", "Ünïcode"].map { value in
            Array(value.utf8).withUnsafeBufferPointer { MergeShard.of($0, shards: 1000) }
        }
        #expect(shards == [342, 315, 794, 738])
    }
}
