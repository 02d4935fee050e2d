import Foundation
import NFMFormat

/// Merge shard S of a sharded merge (`nfm build-step merge-shard OUT --shard S`): the values
/// `MergeShard.of(v) == S` of every field, from slice S of every partition's `map/I.vals`, in partition
/// order.
///
/// A value's first appearance is the pair `(p, l)` of the first partition holding it and its local index
/// there; since global indices follow first appearance, `(p, l)` ascending is global index order (its
/// *canonical id* `p << 32 | l`). Per field, the shard keeps a hash table of its values (summed counts,
/// canonical id) and writes:
/// - `mshard/S.bin` (`MSHD`, a `SlicedStepFile` of 1 + P slices). Slice 0: R, S, then for every partition
///   and field the local indices (ascending `u32` list) of the values that are *new here* (first seen in
///   that partition) — partition p's "new" bitmap restricted to the shard — and, for a labelled
///   definition, the sublist of those seen at least `minCount` times in the whole input (*kept*; `u32`
///   list). Slice 1 + p: for every field, the
///   owned local values of p that appeared earlier, as `u32` triples (local index, first partition, local
///   index there).
/// - `mshard/S.values` (`MVLS`): F, then per field the shard's values in canonical order with their counts
///   over the whole input (value list) and their canonical ids (`u64` list), for `finish`.
///
/// O(bytes of the shard's slices) time (one hash lookup per local value of the shard); memory: the shard's
/// distinct values and its references.
enum MergeShardStep {
    /// Runs shard `shard`; returns its number of distinct values and of references (local values first
    /// seen in an earlier partition), all fields.
    static func run(_ context: StepContext, shard: Int) throws -> (values: Int, references: Int) {
        let (fields, partitions) = (context.plan.fieldCount, context.partitions.count)
        var vocabularies = (0..<fields).map { _ in Vocabulary() }
        var canonical = [[UInt64]](repeating: [], count: fields)
        var new = [[[UInt32]]](repeating: [[UInt32]](repeating: [], count: fields), count: partitions)
        var slices: [StepWriter] = []
        var references = 0
        for p in 0..<partitions {
            let local = try ShardedScan.readValues(context, partition: p, shard: shard)
            var refs = StepWriter()
            for f in 0..<fields {
                var triples: [UInt32] = []
                let (indices, values) = local[f]
                for (i, l) in indices.enumerated() {
                    let index = values.withValue(at: i) { vocabularies[f].encode($0, count: values.counts[i]) }
                    if index == canonical[f].count {
                        canonical[f].append(UInt64(p) << 32 | UInt64(l))
                        new[p][f].append(l)
                    } else {
                        let first = canonical[f][index]
                        triples += [l, UInt32(truncatingIfNeeded: first >> 32), UInt32(truncatingIfNeeded: first)]
                    }
                }
                refs.words(triples)
                references += triples.count / 3
            }
            slices.append(refs)
        }
        let head = headSlice(context, shard: shard, new: new, canonical: canonical, vocabularies: vocabularies)
        try SlicedStepFile.write([head] + slices, kind: "MSHD", plan: context.id, to: path(context, shard))
        var values = StepWriter()
        values.u64(fields)
        for f in 0..<fields {
            values.vocabulary(vocabularies[f])
            values.longs(canonical[f])
        }
        try StepFile.write(values, kind: "MVLS", plan: context.id, to: valuesPath(context, shard))
        return (canonical.reduce(0) { $0 + $1.count }, references)
    }

    /// Slice 0 (see the type): R, S, per partition and field the new local indices (and the kept ones).
    private static func headSlice(
        _ context: StepContext, shard: Int, new: [[[UInt32]]], canonical: [[UInt64]], vocabularies: [Vocabulary]
    ) -> StepWriter {
        var kept: [[[UInt32]]] = []
        if context.plan.definition.label != nil {
            kept = new.map { $0.map { _ in [] } }
            for (f, spec) in context.plan.definition.fieldSpecs.enumerated() {
                let counts = vocabularies[f].counts  // once: it may be computed from the table
                for (i, id) in canonical[f].enumerated() where counts[i] >= spec.minCount {
                    kept[Int(id >> 32)][f].append(UInt32(truncatingIfNeeded: id))
                }
            }
        }
        var head = StepWriter()
        head.u64(context.mergeShards)
        head.u64(shard)
        for p in new.indices {
            for f in new[p].indices {
                head.words(new[p][f])
                if !kept.isEmpty { head.words(kept[p][f]) }
            }
        }
        return head
    }

    static func path(_ context: StepContext, _ shard: Int) -> String { context.steps + "/mshard/\(shard).bin" }
    static func valuesPath(_ context: StepContext, _ shard: Int) -> String { context.steps + "/mshard/\(shard).values" }

    /// Every shard's `MSHD` file, opened and its header checked (once: the merge reads 1 + P slices of each).
    /// Raises the soft limit of open files to the hard one first (R descriptors stay open).
    static func open(_ context: StepContext) throws -> [SlicedStepFile.Reader] {
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return try (0..<context.mergeShards).map {
            try SlicedStepFile.Reader(path(context, $0), kind: "MSHD", plan: context.id, slices: 1 + context.partitions.count)
        }
    }

    /// Slice 0 of shard `shard`'s `MSHD` file: `new[p][f]`, the local indices new in partition p, and for a
    /// labelled definition `kept[p][f]` (else empty).
    static func readNew(_ context: StepContext, shard: Int, file: SlicedStepFile.Reader) throws
        -> (new: [[[UInt32]]], kept: [[[UInt32]]])
    {
        let path = file.path
        var r = try file.slice(0)
        guard try r.int() == context.mergeShards, try r.int() == shard else {
            throw NFMError(.dataset, "stale merge shard: written for another shard or shard count", at: .init(file: path))
        }
        let labelled = context.plan.definition.label != nil
        var (new, kept): ([[[UInt32]]], [[[UInt32]]]) = ([], [])
        for _ in context.partitions.indices {
            var (n, k): ([[UInt32]], [[UInt32]]) = ([], [])
            for _ in 0..<context.plan.fieldCount {
                n.append(try r.words())
                if labelled { k.append(try r.words()) }
            }
            new.append(n)
            if labelled { kept.append(k) }
        }
        guard r.isAtEnd else { throw NFMError(.dataset, "damaged step file: trailing bytes", at: .init(file: path)) }
        return (new, kept)
    }

    /// Slice 1 + `partition` of shard `shard`'s `MSHD` file: per field, the (local, first partition, first
    /// local) triples.
    static func readReferences(_ context: StepContext, file: SlicedStepFile.Reader, partition: Int) throws -> [[UInt32]] {
        let path = file.path
        var r = try file.slice(1 + partition)
        let refs = try (0..<context.plan.fieldCount).map { _ in try r.words() }
        guard r.isAtEnd, refs.allSatisfy({ $0.count % 3 == 0 }) else {
            throw NFMError(.dataset, "damaged step file: references", at: .init(file: path))
        }
        return refs
    }

    /// Shard `shard`'s values per field (canonical order, whole-input counts) and their canonical ids.
    static func readValues(_ context: StepContext, shard: Int) throws -> [(values: ValueList, ids: [UInt64])] {
        let path = valuesPath(context, shard)
        var r = try StepFile.read(path, kind: "MVLS", plan: context.id)
        guard try r.int() == context.plan.fieldCount else {
            throw NFMError(.dataset, "damaged step file: field count", at: .init(file: path))
        }
        let out = try (0..<context.plan.fieldCount).map { _ in
            let values = try r.values()
            let ids = try r.longs()
            guard ids.count == values.count, zip(ids, ids.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw NFMError(.dataset, "damaged step file: canonical ids", at: .init(file: path))
            }
            return (values, ids)
        }
        guard r.isAtEnd else { throw NFMError(.dataset, "damaged step file: trailing bytes", at: .init(file: path)) }
        return out
    }
}
