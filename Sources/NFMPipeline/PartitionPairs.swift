import NFMFormat

/// The positive pairs one place step needs in a sharded build: those of the rule keys its partition holds
/// (`merge/pairs-I.bin`, `PAIR`), not the whole table.
///
/// Payload: the partition's global key ids, ascending (`u32` list, K keys); each key's number of
/// distinct values (`u64` list of K); the values, key by key, each key's ascending (`u32` list).
/// Read back re-keyed: key k of the list is compact key k, so the place step's memory is O(its keys +
/// their pairs) rather than O(global keys + pairs).
enum PartitionPairs {
    static func path(_ context: StepContext, _ partition: Int) -> String {
        context.steps + "/merge/pairs-\(partition).bin"
    }

    /// Writes the pairs of the global keys `keys` (a partition's key table) from `table`.
    static func write(_ context: StepContext, partition: Int, keys: [UInt32], table: PairTable) throws {
        let sorted = keys.sorted()
        var values: [UInt32] = []
        var counts: [Int] = []
        for key in sorted {
            let k = Int(key)
            values += table.values[table.offsets[k]..<table.offsets[k + 1]]
            counts.append(table.count(key: k))
        }
        var w = StepWriter()
        w.words(sorted)
        w.ints(counts)
        w.words(values)
        try StepFile.write(w, kind: "PAIR", plan: context.id, to: path(context, partition))
    }

    /// Partition `partition`'s pairs re-keyed compactly: the global key ids (ascending; compact key k is
    /// `keys[k]`) and the table over compact keys. `keyCount` is the number of global keys.
    static func read(_ context: StepContext, partition: Int, keyCount: Int) throws -> (keys: [UInt32], table: PairTable) {
        let path = path(context, partition)
        var r = try StepFile.read(path, kind: "PAIR", plan: context.id)
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
