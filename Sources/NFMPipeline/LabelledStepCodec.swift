import NFMFormat

/// A labelled partition's scan read back from `map/I.lscan` (everything but its rows).
struct LabelledScanRecord: LabelledScanSummary {
    var counts = DatasetManifest.Counts()
    var lines = 0
    var entries = 0
    var labelRange: (minimum: Float, maximum: Float, sum: Double) = (.infinity, -.infinity, 0)
    var labels: [Float] = []
    var vocabularies: [Vocabulary] = []
    var badRow: PartitionScan.BadRow?
    var rejects: [PartitionScan.Reject] = []
    var stored: DatasetManifest.Input?
}

/// What a labelled build's merge step hands to place, reduce and finish (`merge/lstate.bin`).
struct LabelledMergeState {
    /// The layout without `remap` and `kept` (finish recomputes them from `merge/vocab.bin`).
    let layout: LabelledLayout
    let labelRange: (minimum: Float, maximum: Float, sum: Double)
    /// Per partition, the global index of its first row, and its lines (line offsets of rejects).
    let rowOffsets: [Int]
    let lines: [Int]
    /// Positions per bucket (`BucketLayout` capacity).
    let capacity: Int
}

/// Payloads of the labelled step files: `LSCN` (a partition's scan), `LROW` (its rows, length-prefixed
/// records as `WordSpill` holds them), `LMRG` (the merge state), `LTBL` (a partition's word → feature
/// tables), `LBKT` (a partition's records of one bucket), `LTRN` (a partition's train values of the
/// standardized fields and its count of labels at the maximum). Fields in declaration order; every count
/// is checked against the bytes left (`StepReader`).
enum LabelledStepCodec {
    /// `LSCN`: rowsRead, rowsRejected, positives, lines, entries; label minimum, maximum (bits) and sum
    /// (bits); labels (bits); bad row (flag, line, column, message); rejects; stored input; vocabularies.
    static func encode(_ scan: LabelledPass) -> StepWriter {
        var w = StepWriter()
        encodeScanHead(scan, into: &w)
        w.u64(scan.vocabularies.count)
        for vocabulary in scan.vocabularies { w.vocabulary(vocabulary) }
        return w
    }

    static func decodeScan(_ r: inout StepReader, plan: BuildPlan) throws -> LabelledScanRecord {
        var scan = try decodeScanHead(&r)
        guard try r.int() == plan.fieldCount else { throw damaged(r, "field count") }
        scan.vocabularies = try (0..<plan.fieldCount).map { _ in try r.vocabulary() }
        guard scan.labels.count == scan.counts.positives, r.isAtEnd else { throw damaged(r, "labelled scan") }
        return scan
    }

    /// The head shared by `LSCN` and `LSSC`: rowsRead, rowsRejected, positives, lines, entries; label
    /// minimum, maximum (bits) and sum (bits); labels (bits); the scan outcome (bad row, rejects, stored input).
    static func encodeScanHead(_ scan: LabelledPass, into w: inout StepWriter) {
        for n in [scan.counts.rowsRead, scan.counts.rowsRejected, scan.counts.positives, scan.lines, scan.entries] {
            w.u64(n)
        }
        w.u64(UInt64(scan.labelRange.minimum.bitPattern))
        w.u64(UInt64(scan.labelRange.maximum.bitPattern))
        w.u64(scan.labelRange.sum.bitPattern)
        w.words(scan.labels.map(\.bitPattern))
        w.scanOutcome(badRow: scan.badRow, rejects: scan.partitionRejects, stored: scan.stored)
    }

    /// Reads the head written by ``encodeScanHead(_:into:)`` (vocabularies left empty).
    static func decodeScanHead(_ r: inout StepReader) throws -> LabelledScanRecord {
        var scan = LabelledScanRecord()
        scan.counts.rowsRead = try r.int()
        scan.counts.rowsRejected = try r.int()
        scan.counts.positives = try r.int()
        scan.lines = try r.int()
        scan.entries = try r.int(limit: 1 << 56)
        let minimum = Float(bitPattern: UInt32(truncatingIfNeeded: try r.u64()))
        let maximum = Float(bitPattern: UInt32(truncatingIfNeeded: try r.u64()))
        scan.labelRange = (minimum, maximum, Double(bitPattern: try r.u64()))
        scan.labels = try r.words().map { Float(bitPattern: $0) }
        (scan.badRow, scan.rejects, scan.stored) = try r.scanOutcome()
        return scan
    }

    /// `LMRG`: per field OOV index + 1 (0 for none), cardinalities, offsets; featureCount; the eight
    /// counts; total; the two boundaries; label minimum, maximum, sum (bits); rowOffsets; lines; capacity.
    static func encode(_ s: LabelledMergeState) -> StepWriter {
        var w = StepWriter()
        let l = s.layout
        w.ints(l.oov.map { ($0 ?? -1) + 1 })
        w.ints(l.cardinalities)
        w.ints(l.offsets)
        w.u64(l.featureCount)
        w.split(counts: l.counts, total: l.total, boundaries: l.boundaries)
        w.u64(UInt64(s.labelRange.minimum.bitPattern))
        w.u64(UInt64(s.labelRange.maximum.bitPattern))
        w.u64(s.labelRange.sum.bitPattern)
        w.ints(s.rowOffsets)
        w.ints(s.lines)
        w.u64(s.capacity)
        return w
    }

    static func decodeState(_ r: inout StepReader, plan: BuildPlan, partitions: Int) throws -> LabelledMergeState {
        let oov = try r.ints().map { $0 == 0 ? nil : $0 - 1 }
        let cardinalities = try r.ints()
        let offsets = try r.ints()
        let featureCount = try r.int(limit: Int(EntryBuckets.unitValue) - 1)
        let (c, total, (b0, b1)) = try r.split()
        let minimum = Float(bitPattern: UInt32(truncatingIfNeeded: try r.u64()))
        let maximum = Float(bitPattern: UInt32(truncatingIfNeeded: try r.u64()))
        let sum = Double(bitPattern: try r.u64())
        let state = LabelledMergeState(
            layout: LabelledLayout(
                oov: oov, cardinalities: cardinalities, offsets: offsets, featureCount: featureCount, counts: c,
                total: total, boundaries: (b0, b1)),
            labelRange: (minimum, maximum, sum), rowOffsets: try r.ints(), lines: try r.ints(),
            capacity: try r.int(limit: Int(UInt32.max)))
        guard oov.count == plan.fieldCount, cardinalities.count == plan.fieldCount, offsets.count == plan.fieldCount,
            offsets.allSatisfy({ $0 < featureCount }), state.rowOffsets.count == partitions,
            state.lines.count == partitions, state.capacity >= 1, total > 0, b0 <= b1, c.positives == total, r.isAtEnd
        else { throw damaged(r, "labelled merge state") }
        return state
    }

    /// `LTRN`: labels at the maximum, field count, then per field its train values (bits).
    static func encodeTrain(_ placement: LabelledPlacement) -> StepWriter {
        var w = StepWriter()
        w.u64(placement.atMaximum)
        w.u64(placement.trainValues.count)
        for values in placement.trainValues { w.words(values.map(\.bitPattern)) }
        return w
    }

    static func decodeTrain(_ r: inout StepReader, plan: BuildPlan) throws -> (atMaximum: Int, values: [[Float]]) {
        let atMaximum = try r.int()
        guard try r.int() == plan.fieldCount else { throw damaged(r, "field count") }
        let values = try (0..<plan.fieldCount).map { _ in try r.words().map { Float(bitPattern: $0) } }
        guard r.isAtEnd else { throw damaged(r, "train values") }
        return (atMaximum, values)
    }

    /// Calls `body` with each length-prefixed record of `words`; `.dataset` naming `path` when a length
    /// runs past the end.
    static func forEachRecord(_ words: [UInt32], path: String, _ body: (UnsafeBufferPointer<UInt32>) throws -> Void) throws {
        try words.withUnsafeBufferPointer { all in
            var i = 0
            while i < all.count {
                let n = Int(all[i])
                guard n <= all.count - i - 1 else {
                    throw NFMError(.dataset, "damaged step file: a record runs past the end", at: .init(file: path))
                }
                try body(UnsafeBufferPointer(rebasing: all[i + 1..<i + 1 + n]))
                i += 1 + n
            }
        }
    }

    private static func damaged(_ r: StepReader, _ what: String) -> NFMError {
        NFMError(.dataset, "damaged step file: \(what)", at: .init(file: r.path))
    }
}
