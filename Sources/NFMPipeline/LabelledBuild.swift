import NFMFormat

/// A build from a log with an explicit label column (definition version 2): one instance per accepted
/// row, no negatives sampled. Pass 1 (`LabelledPass`) parses and spills the rows and grows the
/// vocabularies; `LabelledLayout` keeps the values seen ≥ `minCount` times and fixes the features;
/// pass 2 (`LabelledPlacement`) places row g at position π(g) of the seeded permutation, as the sampling
/// build does, into `EntryBuckets`; `LabelledEmitter` writes the splits. Same inputs, definition and seed
/// give byte-identical output, whatever the buffer sizes or memory budget. `run` takes the partitioned
/// path (`LabelledPartitionedBuild`, the same passes per partition on `--threads` threads); the single
/// pass stays the reference (`--single-pass`, and standard input).
enum LabelledBuild {
    /// Runs the build into `out` (already claimed) and returns the manifest, not yet written: partitioned
    /// on `plan.threads` threads (`LabelledPartitionedBuild`) unless the plan asks for the single pass or
    /// reads standard input.
    static func run(_ plan: BuildPlan, _ label: LabelColumn, _ inputs: InputSet, into out: String) throws -> DatasetManifest {
        if !plan.singlePass && !plan.inputPaths.contains("-") {
            return try LabelledPartitionedBuild.run(plan, label, inputs, into: out)
        }
        return try runSinglePass(plan, label, inputs, into: out)
    }

    /// The single-pass reference: both passes on one thread (threads compress only).
    static func runSinglePass(_ plan: BuildPlan, _ label: LabelColumn, _ inputs: InputSet, into out: String) throws
        -> DatasetManifest
    {
        let scratch = out + "/.scratch"
        try FileSystem.createDirectory(scratch)
        var pass = LabelledPass(
            plan: plan, label: label, inputs: inputs, scratchDirectory: scratch,
            rejectsPath: out + "/" + DatasetBuilder.rejectsFile)
        try pass.run()
        let layout = try LabelledLayout(pass)
        var placement = LabelledPlacement(pass: pass, layout: layout, scratchDirectory: scratch)
        try placement.run(pass.rows, expected: layout.total)
        let statistics = LabelledPlacement.statistics([placement])
        let emitter = try LabelledEmitter(plan: plan, layout: layout, statistics: statistics, directory: out)
        let shards = try emitter.emit(placement.buckets)
        FileSystem.remove(scratch)
        let summary = Summary(
            specs: pass.specs, vocabularies: pass.vocabularies, labelRange: pass.labelRange,
            atMaximum: placement.atMaximum, inputs: inputs.manifestInputs)
        return try manifest(
            plan, label, summary, layout, statistics, emitter.layout, shards, rejected: pass.rejects.finish(), out: out)
    }

    /// What the manifest needs from the scan and placement, however they ran.
    struct Summary {
        var specs: [FieldSpec]
        /// Per field, every value in first-appearance order with its count.
        var vocabularies: [Vocabulary]
        /// Smallest, largest and summed (in input order) label of the accepted rows.
        var labelRange: (minimum: Float, maximum: Float, sum: Double)
        var atMaximum: Int
        var inputs: [DatasetManifest.Input]
    }

    /// Writes the vocabularies and returns the manifest (with the rejects file `rejected`, if any).
    static func manifest(
        _ plan: BuildPlan, _ label: LabelColumn, _ summary: Summary, _ layout: LabelledLayout,
        _ statistics: [Int: (mean: Double, stddev: Double)], _ shardLayout: ShardBlock.Layout,
        _ shards: [DatasetManifest.Shard], rejected: (bytes: Int, sha256: String)?, out: String
    ) throws -> DatasetManifest {
        let (vocabularyPaths, vocabularyFiles) = try writeVocabularies(summary, layout, out: out)
        var files = vocabularyFiles
        if let rejected {
            files.append(.init(path: DatasetBuilder.rejectsFile, bytes: rejected.bytes, sha256: rejected.sha256))
        }
        let definition = plan.definition
        let labelRange = summary.labelRange
        var manifest = DatasetManifest(
            tool: ToolInfo.name, name: definition.name,
            definition: .init(
                file: definition.sourceFile, sha256: SHA256.hexDigest(of: Array(definition.sourceText.utf8)),
                text: definition.sourceText),
            seed: plan.seed, negativeRule: nil, inputs: summary.inputs, counts: layout.counts,
            labels: .init(positive: labelRange.maximum, negative: labelRange.minimum),
            layout: shardLayout,
            fields: layout.fields(summary.specs, statistics: statistics, vocabularyPaths: vocabularyPaths),
            featureCount: layout.featureCount, files: files, shards: shards)
        manifest.label = .init(
            column: label.column, type: label.kind.rawValue, minimum: labelRange.minimum,
            maximum: labelRange.maximum, mean: labelRange.sum / Double(layout.total),
            atMaximum: summary.atMaximum)
        return manifest
    }

    /// Writes the kept values of each vocabulary field (in their new order, with their counts); returns the
    /// path of each field's file (`""` for fields without a vocabulary) and the manifest records of the files.
    private static func writeVocabularies(_ pass: Summary, _ layout: LabelledLayout, out: String) throws
        -> (paths: [String], files: [DatasetManifest.File])
    {
        try FileSystem.createDirectory(out + "/vocab")
        var paths: [String] = []
        var files: [DatasetManifest.File] = []
        for (f, spec) in pass.specs.enumerated() {
            guard spec.hasVocabulary else {
                paths.append("")
                continue
            }
            let path = DatasetBuilder.vocabularyPath(field: f, name: spec.name)
            let bytes = pass.vocabularies[f].fileBytes(keeping: layout.kept[f])
            // Not synced, like the shards: the manifest (synced) commits the directory.
            try FileSystem.writeAtomically(bytes, to: out + "/" + path, sync: false)
            paths.append(path)
            files.append(.init(path: path, bytes: bytes.count, sha256: SHA256.hexDigest(of: bytes)))
        }
        return (paths, files)
    }
}
