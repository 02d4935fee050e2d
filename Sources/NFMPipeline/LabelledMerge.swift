import NFMFormat

/// The merge step of a partitioned labelled build: the partitions' scans, in input order, turned into
/// the single pass's numbering.
///
/// Global vocabulary of field f = partition 0's values in their order, then partition 1's new values, …
/// (first appearance over the whole input), each with its summed count, so `LabelledLayout` keeps the
/// same values (count ≥ `minCount`) in the same order. Per partition i: `tables[i][f]` maps a local
/// vocabulary word straight to the feature index within the field (the layout's remap composed with the
/// local → global table), and `rowOffsets[i] = Σ_{k<i} rows_k` is the global index of its first row.
/// The label sum is taken one label at a time in input order (the single pass's floating-point result).
/// O(distinct values + rows) time (the label sum is the only per-row work); memory: the global vocabularies.
struct LabelledMerge {
    let specs: [FieldSpec]
    /// Per field, the global vocabulary (first-appearance order, counts over the whole input).
    let vocabularies: [Vocabulary]
    let layout: LabelledLayout
    /// Per partition, per field: local vocabulary word → feature index within the field (empty for kept numbers).
    let tables: [[[UInt32]]]
    /// Per partition, the global index of its first accepted row.
    let rowOffsets: [Int]
    /// Entries over all accepted rows (sizes the position buckets).
    let entries: Int
    /// Smallest, largest and summed label of the accepted rows.
    let labelRange: (minimum: Float, maximum: Float, sum: Double)

    /// Merges `scans` (one per partition, in order, none with a bad row); throws `.input` when no row was
    /// accepted or the features do not fit 32-bit indices.
    init<Scan: LabelledScanSummary>(plan: BuildPlan, partitions: [BuildPartition], scans: [Scan], inputNames: [String]) throws {
        specs = plan.definition.fieldSpecs
        let (counts, range, offsets, entries) = try Self.totals(scans, inputNames: inputNames)
        var vocabularies = specs.map { _ in Vocabulary() }
        var globals: [[[UInt32]]] = []
        for scan in scans { globals.append(Self.mergeValues(scan, specs, into: &vocabularies)) }
        let layout = try LabelledLayout(plan: plan, specs: specs, vocabularies: vocabularies, counts: counts)
        tables = globals.map { partition in
            partition.enumerated().map { f, table in
                let remap = layout.remap[f]
                return remap.isEmpty ? table : table.map { remap[Int($0)] }
            }
        }
        self.vocabularies = vocabularies
        self.layout = layout
        rowOffsets = offsets
        self.entries = entries
        labelRange = range
    }

    /// The partitions' summed counts, label range (the sum taken one label at a time in input order), row
    /// offsets (`Σ_{k<i}` accepted rows) and entries; throws `.input` when no row was accepted.
    static func totals<Scan: LabelledScanSummary>(_ scans: [Scan], inputNames: [String]) throws -> (
        counts: DatasetManifest.Counts, range: (minimum: Float, maximum: Float, sum: Double), rowOffsets: [Int], entries: Int
    ) {
        var counts = DatasetManifest.Counts()
        var range: (minimum: Float, maximum: Float, sum: Double) = (.infinity, -.infinity, 0)
        var (offsets, entries) = ([Int](), 0)
        for scan in scans {
            offsets.append(counts.positives)
            counts.rowsRead += scan.counts.rowsRead
            counts.rowsRejected += scan.counts.rowsRejected
            counts.positives += scan.counts.positives
            entries += scan.entries
            range.minimum = min(range.minimum, scan.labelRange.minimum)
            range.maximum = max(range.maximum, scan.labelRange.maximum)
            for label in scan.labels { range.sum = range.sum + Double(label) }
        }
        guard counts.positives > 0 else {
            throw NFMError(.input, "no valid data rows (read \(counts.rowsRead))", at: .init(file: inputNames.first))
        }
        return (counts, range, offsets, entries)
    }

    /// Adds a partition's values (in its first-appearance order, with counts) to the global vocabularies;
    /// returns its local → global index table per field (empty for kept numbers).
    private static func mergeValues<Scan: LabelledScanSummary>(_ scan: Scan, _ specs: [FieldSpec], into vocabularies: inout [Vocabulary])
        -> [[UInt32]]
    {
        specs.indices.map { f in
            guard specs[f].hasVocabulary else { return [] }
            let local = scan.vocabularies[f]
            return (0..<local.count).map { index in
                UInt32(truncatingIfNeeded: local.withValue(at: index) { vocabularies[f].encode($0, count: local.counts[index]) })
            }
        }
    }
}

/// What the merge needs from a partition's labelled scan (`LabelledPass`, or one read back from a step file).
protocol LabelledScanSummary {
    var counts: DatasetManifest.Counts { get }
    /// Entries over the partition's accepted rows.
    var entries: Int { get }
    /// Smallest, largest and summed label of the accepted rows.
    var labelRange: (minimum: Float, maximum: Float, sum: Double) { get }
    /// The accepted rows' labels, in order.
    var labels: [Float] { get }
    /// Per field, the local vocabulary (first-appearance order, with counts).
    var vocabularies: [Vocabulary] { get }
}

extension LabelledPass: LabelledScanSummary {}
