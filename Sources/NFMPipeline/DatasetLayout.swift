import NFMFormat

/// What pass 1 fixes for the rest of a build: each field's feature offset, the rule keys whose rows
/// cannot be sampled, the instance counts and the split boundaries.
///
/// Offsets are running sums of the vocabulary sizes (`offset₀ = 0`, `offsetₖ = offsetₖ₋₁ + |Vₖ₋₁|`,
/// `featureCount = Σ|Vₖ|`). A row whose rule key leaves fewer than `perPositive` allowed values is
/// unsampleable: it stays a positive but gets no negatives, so `N = positives + perPositive ·
/// (positives − unsampleable)`.
struct DatasetLayout {
    let offsets: [Int]
    let featureCount: Int
    /// Indexed by rule-key id.
    let unsampleableKeys: [Bool]
    /// The corrupted field's vocabulary size.
    let valueCount: Int
    /// All counts, the splits included.
    let counts: DatasetManifest.Counts
    /// `N`, the number of instances.
    let total: Int
    /// `(⌈0.7N⌉, ⌈0.9N⌉)` for the default ratios: see `DatasetBuilder.splitBoundaries`.
    let boundaries: (Int, Int)

    /// The layout after pass 1 of a single-pass build.
    init(_ pass: VocabularyPass) throws {
        try self.init(
            plan: pass.plan, counts: pass.counts, vocabularySizes: pass.vocabularies.map(\.count),
            keyCounts: pass.keys.counts, sampler: pass.sampler)
    }

    /// The layout of vocabularies of `vocabularySizes` values, rule keys seen `keyCounts` times and the
    /// positive pairs of `sampler`. Throws `.sampling` when the instance count overflows, `.input` when
    /// the features do not fit the shards' 32-bit indices.
    init(
        plan: BuildPlan, counts: DatasetManifest.Counts, vocabularySizes: [Int], keyCounts: [Int],
        sampler: NegativeSampler
    ) throws {
        var counts = counts
        valueCount = vocabularySizes[plan.corrupted]
        var unsampleable = [Bool](repeating: false, count: keyCounts.count)
        for key in 0..<keyCounts.count where !sampler.isSampleable(key: key, valueCount: valueCount) {
            unsampleable[key] = true
            counts.unsampleableRows += keyCounts[key]
        }
        unsampleableKeys = unsampleable
        let (negatives, overflow) = plan.perPositive.multipliedReportingOverflow(
            by: counts.positives - counts.unsampleableRows)
        let (total, overflowTotal) = counts.positives.addingReportingOverflow(negatives)
        guard !overflow, !overflowTotal else {
            throw NFMError(.sampling, "\(counts.positives) positives × \(plan.perPositive) negatives overflow")
        }
        counts.negatives = negatives
        self.total = total
        var offsets = [Int](repeating: 0, count: plan.fieldCount)
        for f in 1..<max(plan.fieldCount, 1) { offsets[f] = offsets[f - 1] + vocabularySizes[f - 1] }
        self.offsets = offsets
        featureCount = offsets[plan.fieldCount - 1] + vocabularySizes[plan.fieldCount - 1]
        guard featureCount < Int(UInt32.max) else {
            throw NFMError(.input, "\(featureCount) features; shards hold at most \(UInt32.max - 1)", at: .init(file: plan.inputName))
        }
        boundaries = DatasetBuilder.splitBoundaries(total: total, ratios: plan.definition.split)
        (counts.train, counts.validation, counts.test) =
            (boundaries.0, boundaries.1 - boundaries.0, total - boundaries.1)
        self.counts = counts
    }

    /// A layout read back from a step file (`BuildSteps`).
    init(
        offsets: [Int], featureCount: Int, unsampleableKeys: [Bool], valueCount: Int, counts: DatasetManifest.Counts,
        total: Int, boundaries: (Int, Int)
    ) {
        self.offsets = offsets
        self.featureCount = featureCount
        self.unsampleableKeys = unsampleableKeys
        self.valueCount = valueCount
        self.counts = counts
        self.total = total
        self.boundaries = boundaries
    }

    /// The manifest's field records, with the vocabulary file of field `f` at `vocabularyPaths[f]`.
    func fields(_ plan: BuildPlan, _ vocabularies: [Vocabulary], vocabularyPaths: [String]) -> [DatasetManifest.Field] {
        plan.definition.fields.enumerated().map { f, name in
            .init(name: name, offset: offsets[f], cardinality: vocabularies[f].count, vocabulary: vocabularyPaths[f])
        }
    }
}
