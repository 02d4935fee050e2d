import NFMFormat

/// The merge step of a sharded merge for a labelled definition: `LabelledMerge`'s numbering from the
/// merge shards' "new" and "kept" lists, without looking at a value's bytes.
///
/// A vocabulary field's value keeps a feature when seen ≥ `minCount` times in the whole input (its
/// shard sums the counts); kept values are numbered in first-appearance order, so with
/// `keptOffset(f, p)` = kept values of the partitions before p, a kept first appearance (p′, l′) has the
/// feature `keptOffset(f, p′) + rank of l′ among p′'s kept values`; a value not kept has the field's OOV
/// feature. A field without OOV keeps the global index (`offset(f, p′) + rank among new values`), as
/// `LabelledLayout` does. Counts, the label range (summed one label at a time in input order), the row
/// offsets and the layout follow `LabelledMerge`; writes `merge/ltable-I.bin` (`LTBL`) and
/// `merge/lstate.bin` (`LMRG`) as the unsharded labelled merge (no `merge/vocab.bin`: `finish` reads the
/// shards' values). Work: O(P × F + bitmap words + Σ local values + rows) (the label sum reads every
/// label, as unsharded).
enum ShardedLabelledMerge {
    /// Runs the merge, resolving up to `threads` partitions' tables at once (the output does not depend on
    /// it); returns the number of buckets and of instances.
    static func run(_ context: StepContext, threads: Int = 1) throws -> (buckets: Int, instances: Int) {
        let plan = context.plan
        let read = try context.partitions.indices.map { try LabelledShardedScan.read(context, partition: $0) }
        let scans = read.map(\.scan)
        try LabelledSteps.throwFirstBadRow(context, scans)
        let (counts, range, rowOffsets, entries) = try LabelledMerge.totals(scans, inputNames: context.inputNames)
        let files = try MergeShardStep.open(context)
        let (new, kept) = try ShardedMerge.newValues(context, localCounts: read.map(\.localCounts), files: files)
        let running = { (bitmaps: [[NewValueBitmap]], count: (NewValueBitmap) -> Int) in
            bitmaps.map { field in field.reduce(into: [0]) { $0.append($0[$0.count - 1] + count($1)) } }
        }
        let (newOffsets, keptOffsets) = (running(new) { $0.newCount }, running(kept) { $0.newCount })
        let layout = try layout(plan, counts: counts, kept: keptOffsets.map { $0.last ?? 0 })
        try ShardedMerge.forEachPartition(context, threads: threads) { p in
            try ShardedMerge.resolve(context, partition: p, new: new, files: files) { f, first, local in
                guard layout.oov[f] != nil else { return UInt32(truncatingIfNeeded: newOffsets[f][first] + new[f][first].rank(local)) }
                guard kept[f][first].contains(local) else { return UInt32(truncatingIfNeeded: layout.oov[f] ?? 0) }
                return UInt32(truncatingIfNeeded: keptOffsets[f][first] + kept[f][first].rank(local))
            }
        } then: { p, tables in
            var writer = StepWriter()
            writer.u64(tables.count)
            for (f, table) in tables.enumerated() { writer.words(plan.definition.fieldSpecs[f].hasVocabulary ? table : []) }
            try StepFile.write(writer, kind: "LTBL", plan: context.id, to: context.steps + "/merge/ltable-\(p).bin")
        }
        let wordsPerRecord = 4 + 2 * (entries + layout.total - 1) / max(layout.total, 1)
        let state = LabelledMergeState(
            layout: layout, labelRange: range, rowOffsets: rowOffsets, lines: scans.map(\.lines),
            capacity: min(max(1, plan.memoryBudget / 2 / (4 * wordsPerRecord)), Int(UInt32.max)))
        try StepFile.write(
            LabelledStepCodec.encode(state), kind: "LMRG", plan: context.id, to: context.steps + "/merge/lstate.bin")
        return (LabelledSteps.buckets(context, state).count, layout.total)
    }

    /// `LabelledLayout`'s fields from the kept values per field (`kept[f]`); throws as it does when the
    /// features do not fit.
    static func layout(_ plan: BuildPlan, counts: DatasetManifest.Counts, kept: [Int]) throws -> LabelledLayout {
        let specs = plan.definition.fieldSpecs
        var (oov, cardinalities): ([Int?], [Int]) = ([], [])
        for (f, spec) in specs.enumerated() {
            guard spec.hasVocabulary else {
                oov.append(nil)
                cardinalities.append(spec.missing == .ownValue ? 2 : 1)
                continue
            }
            oov.append(spec.hasOOV ? kept[f] : nil)
            cardinalities.append(kept[f] + (spec.hasOOV ? 1 : 0))
        }
        var offsets = [0]
        for cardinality in cardinalities.dropLast() { offsets.append(offsets[offsets.count - 1] + cardinality) }
        let featureCount = offsets[offsets.count - 1] + cardinalities[cardinalities.count - 1]
        guard featureCount < Int(EntryBuckets.unitValue) else {
            throw NFMError(
                .input, "\(featureCount) features; a labelled build holds at most 2^31 − 1 (raise minCount)",
                at: .init(file: plan.inputName))
        }
        var counts = counts
        let total = counts.positives
        let boundaries = DatasetBuilder.splitBoundaries(total: total, ratios: plan.definition.split)
        (counts.train, counts.validation, counts.test) = (boundaries.0, boundaries.1 - boundaries.0, total - boundaries.1)
        return LabelledLayout(
            oov: oov, cardinalities: cardinalities, offsets: offsets, featureCount: featureCount, counts: counts,
            total: total, boundaries: boundaries)
    }
}
