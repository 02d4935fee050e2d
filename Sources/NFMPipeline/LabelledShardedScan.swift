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
        LabelledStepCodec.encodeScanHead(scan, into: &w)
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
        let scan = try LabelledStepCodec.decodeScanHead(&r)
        let localCounts = try r.ints()
        guard localCounts.count == context.plan.fieldCount, localCounts.allSatisfy({ $0 <= Int(UInt32.max) }),
            scan.labels.count == scan.counts.positives, r.isAtEnd
        else { throw NFMError(.dataset, "damaged step file: labelled scan", at: .init(file: path)) }
        return (scan, localCounts)
    }
}
