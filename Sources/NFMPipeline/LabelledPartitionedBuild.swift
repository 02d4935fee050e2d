import Foundation
import NFMFormat

/// The labelled build as the partitioned decomposition, run in one process on `plan.threads` threads:
/// scan every partition (`LabelledPass` in partition mode: local vocabularies with counts, rows with
/// local indices), merge (`LabelledMerge`: global first-appearance vocabularies, `minCount` on the global
/// counts, per-partition row offsets), place every partition's rows at π(global row) into its own
/// `EntryBuckets`, write the splits from all partitions' buckets (`LabelledEmitter`), and finish.
///
/// Byte identity with the single pass (`LabelledBuild.runSinglePass`): partitions are record-aligned
/// pieces merged in input order, so every vocabulary index, kept value and global row index is the
/// single pass's; sums whose floating-point result depends on order (the label mean, the standardize
/// moments) are taken one value at a time over the partitions in input order. Threads only decide which
/// partition is worked on when.
enum LabelledPartitionedBuild {
    /// Runs the build into `out` (already claimed) and returns the manifest, not yet written.
    static func run(_ plan: BuildPlan, _ label: LabelColumn, _ inputs: InputSet, into out: String) throws -> DatasetManifest {
        let scratch = out + "/.scratch"
        try FileSystem.createDirectory(scratch)
        PartitionedBuild.returnLargeBlocksToTheSystem()
        let partitions = try inputs.partitions(chunk: PartitionedBuild.chunkBytes(plan, inputs))
        let relay = ProgressRelay(plan.progress)
        var (scans, stored) = try scanAll(partitions, plan, label, inputs, scratch: scratch, relay: relay)
        let merge = try LabelledMerge(plan: plan, partitions: partitions, scans: scans, inputNames: inputs.names)
        for i in scans.indices { scans[i].releaseStatistics() }
        let layout = merge.layout
        let placed = LockedCounter()
        let results = ParallelTasks.map(count: partitions.count, threads: plan.threads) { i -> LabelledPlacement in
            let buckets = EntryBuckets(
                total: layout.total, entries: merge.entries, memoryBudget: plan.memoryBudget,
                scratchDirectory: scratch, partition: i, partitions: partitions.count)
            var placement = LabelledPlacement(
                plan: plan, specs: merge.specs, layout: layout, maximumLabel: merge.labelRange.maximum,
                buckets: buckets, tables: merge.tables[i], rowOffset: merge.rowOffsets[i], reportsProgress: false)
            try placement.run(scans[i].rows, expected: scans[i].counts.positives)
            relay.report(.init(phase: .sample, done: placed.add(placement.row), total: layout.total, rows: nil))
            return placement
        }
        let placements = try results.map { try $0.get() }
        let statistics = LabelledPlacement.statistics(placements)
        let emitter = try LabelledEmitter(plan: plan, layout: layout, statistics: statistics, directory: out)
        let shards = try emitter.emit(placements.map(\.buckets))
        FileSystem.remove(scratch)
        let rejects = RejectLog(path: out + "/" + DatasetBuilder.rejectsFile, enabled: plan.skipBadRows)
        let lineOffsets = VocabularyMerge.lineOffsets(partitions, lines: scans.map(\.lines))
        for (scan, offset) in zip(scans, lineOffsets) {
            for reject in scan.partitionRejects {
                rejects.add(line: reject.line + offset, column: reject.column, reason: reject.reason, escaped: reject.escaped)
            }
        }
        let summary = LabelledBuild.Summary(
            specs: merge.specs, vocabularies: merge.vocabularies, labelRange: merge.labelRange,
            atMaximum: placements.reduce(0) { $0 + $1.atMaximum }, inputs: stored)
        return try LabelledBuild.manifest(
            plan, label, summary, layout, statistics, emitter.layout, shards, rejected: rejects.finish(), out: out)
    }

    /// Scans every partition (and hashes every input cut into several) on the plan's threads; throws the
    /// first error in partition order. Returns the scans and the manifest's inputs.
    private static func scanAll(
        _ partitions: [BuildPartition], _ plan: BuildPlan, _ label: LabelColumn, _ inputs: InputSet, scratch: String,
        relay: ProgressRelay
    ) throws -> ([LabelledPass], [DatasetManifest.Input]) {
        let split = inputs.paths.indices.filter { input in partitions.count { $0.input == input } > 1 }
        let rowMemory = max(1 << 16, plan.memoryBudget / 4 / partitions.count)
        let bytes = LockedCounter()
        let results = ParallelTasks.map(count: partitions.count + split.count, threads: plan.threads) {
            t -> LabelledPass? in
            guard t < partitions.count else {
                try PartitionedBuild.hash(inputs, split[t - partitions.count], into: relay)
                return nil
            }
            var scan = LabelledPass(
                plan: plan, label: label, inputs: inputs, scratchDirectory: scratch, rejectsPath: "", partition: t,
                rowMemory: rowMemory)
            try scan.run(partitions[t])
            let partition = partitions[t]
            let size = try (partition.end ?? PositionedFile(path: inputs.paths[partition.input]).size()) - partition.start
            relay.report(.init(phase: .read, done: bytes.add(size), total: inputs.expectedBytes, rows: nil))
            return scan
        }
        return try PartitionedBuild.inOrder(results, partitions, inputs, relay)
    }
}
