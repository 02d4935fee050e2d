import NFMFormat

/// A build from a log with an explicit label column (definition version 2): one instance per accepted
/// row, no negatives sampled. Pass 1 (`LabelledPass`) parses and spills the rows and grows the
/// vocabularies; `LabelledLayout` keeps the values seen ≥ `minCount` times and fixes the features;
/// pass 2 (`LabelledPlacement`) places row g at position π(g) of the seeded permutation, as the sampling
/// build does, into `EntryBuckets`; `LabelledEmitter` writes the splits. Same inputs, definition and seed
/// give byte-identical output, whatever the buffer sizes or memory budget.
enum LabelledBuild {
    /// Runs the passes into `out` (already claimed) and returns the manifest, not yet written.
    static func run(_ plan: BuildPlan, _ label: LabelColumn, _ inputs: InputSet, into out: String) throws -> DatasetManifest {
        let scratch = out + "/.scratch"
        try FileSystem.createDirectory(scratch)
        var pass = LabelledPass(
            plan: plan, label: label, inputs: inputs, scratchDirectory: scratch,
            rejectsPath: out + "/" + DatasetBuilder.rejectsFile)
        try pass.run()
        let layout = try LabelledLayout(pass)
        var placement = LabelledPlacement(pass: pass, layout: layout, scratchDirectory: scratch)
        try placement.run(pass.rows)
        let statistics = placement.statistics()
        let emitter = try LabelledEmitter(plan: plan, layout: layout, statistics: statistics, directory: out)
        let shards = try emitter.emit(placement.buckets)
        FileSystem.remove(scratch)
        let (vocabularyPaths, vocabularyFiles) = try writeVocabularies(pass, layout, out: out)
        var files = vocabularyFiles
        if let rejected = try pass.rejects.finish() {
            files.append(.init(path: DatasetBuilder.rejectsFile, bytes: rejected.bytes, sha256: rejected.sha256))
        }
        let definition = plan.definition
        var manifest = DatasetManifest(
            tool: ToolInfo.name, name: definition.name,
            definition: .init(
                file: definition.sourceFile, sha256: SHA256.hexDigest(of: Array(definition.sourceText.utf8)),
                text: definition.sourceText),
            seed: plan.seed, negativeRule: nil, inputs: inputs.manifestInputs, counts: layout.counts,
            labels: .init(positive: pass.labelRange.maximum, negative: pass.labelRange.minimum),
            layout: emitter.layout,
            fields: layout.fields(pass.specs, statistics: statistics, vocabularyPaths: vocabularyPaths),
            featureCount: layout.featureCount, files: files, shards: shards)
        manifest.label = .init(
            column: label.column, type: label.kind.rawValue, minimum: pass.labelRange.minimum,
            maximum: pass.labelRange.maximum, mean: pass.labelRange.sum / Double(layout.total),
            atMaximum: placement.atMaximum)
        return manifest
    }

    /// Writes the kept values of each vocabulary field (in their new order, with their counts); returns the
    /// path of each field's file (`""` for fields without a vocabulary) and the manifest records of the files.
    private static func writeVocabularies(_ pass: LabelledPass, _ layout: LabelledLayout, out: String) throws
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
            let path = String(format: "vocab/%02d-%@.tsv", f, DatasetBuilder.sanitized(spec.name))
            let bytes = pass.vocabularies[f].fileBytes(keeping: layout.kept[f])
            try FileSystem.writeAtomically(bytes, to: out + "/" + path)
            paths.append(path)
            files.append(.init(path: path, bytes: bytes.count, sha256: SHA256.hexDigest(of: bytes)))
        }
        return (paths, files)
    }
}
