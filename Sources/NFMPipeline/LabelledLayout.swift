import NFMFormat

/// What pass 1 of a labelled build fixes for the rest of it: the kept values of each vocabulary field
/// (seen ≥ `minCount` times) renumbered in first-appearance order, each field's features and offset, the
/// instance counts and split boundaries.
///
/// Field f has `kept_f + 1` features with an OOV feature (its last), `kept_f` without; a kept number one
/// feature (two with `missing: own-value`: the value, then the missing indicator). Offsets are running
/// sums of the cardinalities; `featureCount = Σ cardinality_f < 2³¹`.
struct LabelledLayout {
    /// Per vocabulary field: first-appearance index → feature index within the field (kept values
    /// renumbered, the others → the OOV index); empty for fields that keep every value or have no vocabulary.
    let remap: [[UInt32]]
    /// Kept values per field, in their new order (first-appearance indices).
    let kept: [[Int]]
    /// Feature index within the field of its OOV feature, per field (nil without one).
    let oov: [Int?]
    let cardinalities: [Int]
    let offsets: [Int]
    let featureCount: Int
    /// All counts, the splits included.
    let counts: DatasetManifest.Counts
    /// `N`, the number of instances (one per accepted row).
    let total: Int
    /// Cumulative split boundaries, see `DatasetBuilder.splitBoundaries`.
    let boundaries: (Int, Int)

    /// A layout read back from a step file (`remap` and `kept` empty: a step needing them recomputes the
    /// layout from the vocabularies).
    init(
        oov: [Int?], cardinalities: [Int], offsets: [Int], featureCount: Int, counts: DatasetManifest.Counts,
        total: Int, boundaries: (Int, Int)
    ) {
        remap = oov.map { _ in [] }
        kept = oov.map { _ in [] }
        self.oov = oov
        self.cardinalities = cardinalities
        self.offsets = offsets
        self.featureCount = featureCount
        self.counts = counts
        self.total = total
        self.boundaries = boundaries
    }

    /// The layout of a single pass; throws `.input` when the features do not fit the shards' 32-bit indices.
    init(_ pass: LabelledPass) throws {
        try self.init(plan: pass.plan, specs: pass.specs, vocabularies: pass.vocabularies, counts: pass.counts)
    }

    /// The layout of the whole input's vocabularies (values in first-appearance order, with their counts)
    /// and counts; throws `.input` when the features do not fit the shards' 32-bit indices.
    init(plan: BuildPlan, specs: [FieldSpec], vocabularies: [Vocabulary], counts: DatasetManifest.Counts) throws {
        var remap: [[UInt32]] = []
        var kept: [[Int]] = []
        var oov: [Int?] = []
        var cardinalities: [Int] = []
        for (f, spec) in specs.enumerated() {
            let vocabulary = vocabularies[f]
            guard spec.hasVocabulary else {
                remap.append([])
                kept.append([])
                oov.append(nil)
                cardinalities.append(spec.missing == .ownValue ? 2 : 1)
                continue
            }
            let counts = vocabulary.counts
            let keep = (0..<vocabulary.count).filter { counts[$0] >= spec.minCount }
            let oovIndex = spec.hasOOV ? keep.count : nil
            var table: [UInt32] = []
            if spec.hasOOV {
                table = [UInt32](repeating: UInt32(keep.count), count: vocabulary.count)
                for (new, old) in keep.enumerated() { table[old] = UInt32(new) }
            }
            remap.append(table)
            kept.append(keep)
            oov.append(oovIndex)
            cardinalities.append(keep.count + (spec.hasOOV ? 1 : 0))
        }
        self.remap = remap
        self.kept = kept
        self.oov = oov
        self.cardinalities = cardinalities
        var offsets = [0]
        for cardinality in cardinalities.dropLast() { offsets.append(offsets.last! + cardinality) }
        self.offsets = offsets
        featureCount = offsets.last! + cardinalities.last!
        guard featureCount < Int(EntryBuckets.unitValue) else {
            throw NFMError(
                .input, "\(featureCount) features; a labelled build holds at most 2^31 − 1 (raise minCount)",
                at: .init(file: plan.inputName))
        }
        var counts = counts
        total = counts.positives
        boundaries = DatasetBuilder.splitBoundaries(total: total, ratios: plan.definition.split)
        (counts.train, counts.validation, counts.test) = (boundaries.0, boundaries.1 - boundaries.0, total - boundaries.1)
        self.counts = counts
    }

    /// The manifest's field records: kinds, OOV indices, standardize statistics and vocabulary paths
    /// (`""` for kept numbers).
    func fields(_ specs: [FieldSpec], statistics: [Int: (mean: Double, stddev: Double)], vocabularyPaths: [String])
        -> [DatasetManifest.Field]
    {
        specs.enumerated().map { f, spec in
            let stats = statistics[f]
            return DatasetManifest.Field(
                name: spec.name, offset: offsets[f], cardinality: cardinalities[f], vocabulary: vocabularyPaths[f],
                kind: spec.kind == .categorical ? nil : spec.kind.rawValue, oov: oov[f], mean: stats?.mean,
                stddev: stats?.stddev)
        }
    }
}
