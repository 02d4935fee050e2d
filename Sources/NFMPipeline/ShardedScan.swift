import NFMFormat

/// A map step's output for a sharded merge: the scan without its value bytes (`map/I.sscan`, `SSCN`) and
/// its values grouped by merge shard (`map/I.vals`, `MVAL`, a `SlicedStepFile` of R slices), so merge
/// shard S reads slice S of every partition and nothing else.
///
/// `SSCN`: rowsRead, rowsRejected, positives, lines; the scan outcome (bad row, rejects, stored input, as
/// `SCAN`); field count F and each field's number of local values; the local rule keys (value list); the
/// local (key, value) positive pairs (`u64` each, ascending). `MVAL` slice S: for each field, the local
/// indices (ascending) of the values with `MergeShard.of(v) == S` (`u32` list), then those values in the
/// same order with their local counts (value list).
struct ShardedScan {
    /// The scan's counts, outcome, keys and pairs (its `fieldValues` are empty).
    var scan: PartitionScan
    /// Per field, the number of local values.
    var localCounts: [Int]

    /// Writes `scan`'s two files for partition `partition`.
    static func write(_ scan: PartitionScan, _ context: StepContext, partition: Int) throws {
        var w = StepWriter()
        for n in [scan.rowsRead, scan.rowsRejected, scan.positives, scan.lines] { w.u64(n) }
        w.scanOutcome(badRow: scan.badRow, rejects: scan.rejects, stored: scan.stored)
        w.ints(scan.fieldValues.map(\.count))
        w.values(scan.keyValues)
        w.longs(scan.pairs)
        try SlicedStepFile.write(
            slices(scan.fieldValues, shards: context.mergeShards), kind: "MVAL", plan: context.id,
            to: context.steps + "/map/\(partition).vals")
        try StepFile.write(w, kind: "SSCN", plan: context.id, to: context.steps + "/map/\(partition).sscan")
    }

    /// The `MVAL` slices of `fieldValues`: O(bytes of the values).
    static func slices(_ fieldValues: [ValueList], shards: Int) -> [StepWriter] {
        var out = [StepWriter](repeating: StepWriter(), count: shards)
        for values in fieldValues {
            var indices = [[UInt32]](repeating: [], count: shards)
            var arenas = [[UInt8]](repeating: [], count: shards)
            var ends = [[Int]](repeating: [], count: shards)
            var counts = [[Int]](repeating: [], count: shards)
            for l in 0..<values.count {
                values.withValue(at: l) { bytes in
                    let s = MergeShard.of(bytes, shards: shards)
                    indices[s].append(UInt32(truncatingIfNeeded: l))
                    arenas[s] += bytes
                    ends[s].append(arenas[s].count)
                    counts[s].append(values.counts[l])
                }
            }
            for s in 0..<shards {
                out[s].words(indices[s])
                out[s].bytes(arenas[s])
                out[s].ints(ends[s])
                out[s].ints(counts[s])
            }
        }
        return out
    }

    /// Reads partition `partition`'s `SSCN` file; every local index it refers to must exist.
    static func read(_ context: StepContext, partition: Int) throws -> ShardedScan {
        let path = context.steps + "/map/\(partition).sscan"
        var r = try StepFile.read(path, kind: "SSCN", plan: context.id)
        var scan = PartitionScan(plan: context.plan, rowMemory: 1 << 41, rowSpillPath: "")
        scan.rowsRead = try r.int()
        scan.rowsRejected = try r.int()
        scan.positives = try r.int()
        scan.lines = try r.int()
        (scan.badRow, scan.rejects, scan.stored) = try r.scanOutcome()
        let localCounts = try r.ints()
        scan.keyValues = try r.values()
        scan.pairs = try r.longs()
        let plan = context.plan
        guard localCounts.count == plan.fieldCount, localCounts.allSatisfy({ $0 <= Int(UInt32.max) }), r.isAtEnd else {
            throw NFMError(.dataset, "damaged step file: field counts", at: .init(file: path))
        }
        let (keys, values) = (UInt64(scan.keyValues.count), UInt64(localCounts[plan.corrupted]))
        for pair in scan.pairs where pair >> 32 >= keys || pair & 0xFFFF_FFFF >= values {
            throw NFMError(.dataset, "damaged step file: a pair outside the vocabularies", at: .init(file: path))
        }
        for key in 0..<scan.keyValues.count {
            let ok = scan.keyValues.withValue(at: key) { bytes in
                bytes.count == 4 * plan.ruleKey.count
                    && plan.ruleKey.enumerated().allSatisfy { k, f in
                        let index = (0..<4).reduce(0) { $0 | Int(bytes[4 * k + $1]) << (8 * $1) }
                        return index < localCounts[f]
                    }
            }
            guard ok else { throw NFMError(.dataset, "damaged step file: a rule key outside the vocabularies", at: .init(file: path)) }
        }
        return ShardedScan(scan: scan, localCounts: localCounts)
    }

    /// Slice `shard` of partition `partition`'s `MVAL` file: per field, the local indices and the values.
    /// (The merge checks the indices against the partition's value counts.)
    static func readValues(_ context: StepContext, partition: Int, shard: Int) throws
        -> [(indices: [UInt32], values: ValueList)]
    {
        let path = context.steps + "/map/\(partition).vals"
        var r = try SlicedStepFile.read(path, kind: "MVAL", plan: context.id, slices: context.mergeShards, index: shard)
        let out = try (0..<context.plan.fieldCount).map { _ in
            let indices = try r.words()
            let values = try r.values()
            guard values.count == indices.count, zip(indices, indices.dropFirst()).allSatisfy({ $0 < $1 })
            else { throw NFMError(.dataset, "damaged step file: local indices", at: .init(file: path)) }
            return (indices, values)
        }
        guard r.isAtEnd else { throw NFMError(.dataset, "damaged step file: trailing bytes", at: .init(file: path)) }
        return out
    }
}
