import NFMFormat

/// The positive pairs one place step needs in a sharded build: those of the rule keys its partition holds
/// (`merge/pairs-I.bin`, `PAIR`), not the whole table.
///
/// Payload: a mode `u64` — 1: the partition's keys hold more than half of all pairs, so it reads the
/// whole table from `merge/pairs.bin` (same format, mode 0, every key) instead of a copy of most of it; 0:
/// the partition's global key ids, ascending (`u32` list, K keys); each key's number of distinct values
/// (`u64` list of K); the values, key by key, each key's ascending (`u32` list). Read back re-keyed: key k
/// of the list is compact key k, so with keys local to partitions (a log cut by time) the place step's
/// memory is O(its keys + their pairs) rather than O(global keys + pairs).
enum PartitionPairs {
    static func path(_ context: StepContext, _ partition: Int) -> String {
        context.steps + "/merge/pairs-\(partition).bin"
    }

    static func globalPath(_ context: StepContext) -> String { context.steps + "/merge/pairs.bin" }

    /// Writes every partition's pair file (`keys[p]`: partition p's key table) and, when one of them
    /// refers to it, `merge/pairs.bin`.
    static func write(_ context: StepContext, keys: [[UInt32]], table: PairTable) throws {
        var global = false
        for (p, partitionKeys) in keys.enumerated() {
            let sorted = partitionKeys.sorted()
            let own = sorted.reduce(0) { $0 + table.count(key: Int($1)) }
            var w = StepWriter()
            if 2 * own > table.values.count {
                w.u64(1)
                global = true
            } else {
                w = payload(sorted, table)
            }
            try StepFile.write(w, kind: "PAIR", plan: context.id, to: path(context, p))
        }
        if global {
            let all = (0..<table.keyCount).map { UInt32(truncatingIfNeeded: $0) }
            try StepFile.write(payload(all, table), kind: "PAIR", plan: context.id, to: globalPath(context))
        }
    }

    /// Mode 0 with the pairs of the ascending global keys `sorted`.
    private static func payload(_ sorted: [UInt32], _ table: PairTable) -> StepWriter {
        var values: [UInt32] = []
        var counts: [Int] = []
        for key in sorted {
            let k = Int(key)
            values += table.values[table.offsets[k]..<table.offsets[k + 1]]
            counts.append(table.count(key: k))
        }
        var w = StepWriter()
        w.u64(0)
        w.words(sorted)
        w.ints(counts)
        w.words(values)
        return w
    }

    /// Partition `partition`'s pairs re-keyed compactly: the global key ids (ascending; compact key k is
    /// `keys[k]`) and the table over compact keys. `keyCount` is the number of global keys.
    static func read(_ context: StepContext, partition: Int, keyCount: Int) throws -> (keys: [UInt32], table: PairTable) {
        var path = path(context, partition)
        var r = try StepFile.read(path, kind: "PAIR", plan: context.id)
        if try r.int(limit: 1) == 1 {
            guard r.isAtEnd else { throw NFMError(.dataset, "damaged step file: pairs", at: .init(file: path)) }
            path = globalPath(context)
            r = try StepFile.read(path, kind: "PAIR", plan: context.id)
            guard try r.int(limit: 0) == 0 else { throw NFMError(.dataset, "damaged step file: pairs", at: .init(file: path)) }
        }
        let keys = try r.words()
        let counts = try r.ints()
        let values = try r.words()
        var offsets = [0]
        for n in counts {
            let (next, overflow) = offsets[offsets.count - 1].addingReportingOverflow(n)
            guard !overflow else { break }
            offsets.append(next)
        }
        guard r.isAtEnd, counts.count == keys.count, offsets.count == keys.count + 1,
            zip(keys, keys.dropFirst()).allSatisfy({ $0 < $1 }), keys.allSatisfy({ Int($0) < keyCount }),
            let table = PairTable(offsets: offsets, values: values)
        else { throw NFMError(.dataset, "damaged step file: pairs", at: .init(file: path)) }
        return (keys, table)
    }

    /// A place step's layout, key table and sampler over its own keys: partition `partition`'s global key
    /// table `keyRemap` re-keyed to compact keys (positions in its pair file's key list), the layout's
    /// unsampleable flags likewise. `.dataset` naming the pair file when a key is not in it.
    static func compactKeys(_ context: StepContext, partition: Int, _ state: MergeState, _ keyRemap: [UInt32]) throws
        -> (DatasetLayout, [UInt32], NegativeSampler)
    {
        let l = state.layout
        let (keys, table) = try read(context, partition: partition, keyCount: l.unsampleableKeys.count)
        let compact = try keyRemap.map { key in
            var (low, high) = (0, keys.count)
            while low < high {
                let mid = (low + high) / 2
                if keys[mid] < key { low = mid + 1 } else { high = mid }
            }
            guard low < keys.count, keys[low] == key else {
                throw NFMError(.dataset, "stale pairs: a key of the partition is missing", at: .init(file: path(context, partition)))
            }
            return UInt32(truncatingIfNeeded: low)
        }
        let layout = DatasetLayout(
            offsets: l.offsets, featureCount: l.featureCount, unsampleableKeys: keys.map { l.unsampleableKeys[Int($0)] },
            valueCount: l.valueCount, counts: l.counts, total: l.total, boundaries: l.boundaries)
        return (layout, compact, NegativeSampler(perPositive: context.plan.perPositive, seed: context.plan.seed, pairs: table))
    }
}
