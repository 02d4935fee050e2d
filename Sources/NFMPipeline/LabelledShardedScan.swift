import NFMFormat

/// A labelled map step's output for a sharded merge: `map/I.lsscan` (`LSSC`) — `LSCN` with each field's
/// number of local values in place of its vocabulary — and `map/I.vals` (`MVAL`, as `ShardedScan`: the
/// local values grouped by merge shard).
///
/// `LSSC`: rowsRead, rowsRejected, positives, lines, entries; label minimum, maximum (bits) and sum
/// (bits); labels (bits); the scan outcome (bad row, rejects, stored input); per field the number of
/// local values (`u64` list of F).
enum LabelledShardedScan {
    /// Writes `scan`'s two files for partition `partition`.
    static func write(_ scan: LabelledPass, _ context: StepContext, partition: Int) throws {
        var w = StepWriter()
        for n in [scan.counts.rowsRead, scan.counts.rowsRejected, scan.counts.positives, scan.lines, scan.entries] {
            w.u64(n)
        }
        w.u64(UInt64(scan.labelRange.minimum.bitPattern))
        w.u64(UInt64(scan.labelRange.maximum.bitPattern))
        w.u64(scan.labelRange.sum.bitPattern)
        w.words(scan.labels.map(\.bitPattern))
        w.scanOutcome(badRow: scan.badRow, rejects: scan.partitionRejects, stored: scan.stored)
        w.ints(scan.vocabularies.map(\.count))
        try SlicedStepFile.write(
            ShardedScan.slices(scan.vocabularies.map(ValueList.init), shards: context.mergeShards), kind: "MVAL",
            plan: context.id, to: context.steps + "/map/\(partition).vals")
        try StepFile.write(w, kind: "LSSC", plan: context.id, to: context.steps + "/map/\(partition).lsscan")
    }

    /// Partition `partition`'s `LSSC` file: its scan record (no vocabularies) and per field its local values.
    static func read(_ context: StepContext, partition: Int) throws -> (scan: LabelledScanRecord, localCounts: [Int]) {
        let path = context.steps + "/map/\(partition).lsscan"
        var r = try StepFile.read(path, kind: "LSSC", plan: context.id)
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
        let localCounts = try r.ints()
        guard localCounts.count == context.plan.fieldCount, localCounts.allSatisfy({ $0 <= Int(UInt32.max) }),
            scan.labels.count == scan.counts.positives, r.isAtEnd
        else { throw NFMError(.dataset, "damaged step file: labelled scan", at: .init(file: path)) }
        return (scan, localCounts)
    }
}
