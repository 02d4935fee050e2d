import NFMFormat

/// The global vocabularies of a sharded merge, for `finish`: each field's values from every merge
/// shard's `mshard/S.values`, in canonical-id order — first appearance, i.e. global index order — with
/// their whole-input counts.
///
/// O(distinct values × log) time (a sort of the canonical ids) and O(distinct values) memory: the
/// vocabularies `finish` writes anyway.
enum ShardedVocabularies {
    /// The vocabularies; `.dataset` naming `mshard/` when their sizes differ from `sizes` (the merge's
    /// vocabulary sizes, when known) or a value appears twice (a stale or missing shard).
    static func read(_ context: StepContext, sizes: [Int]?) throws -> [Vocabulary] {
        let shards = try (0..<context.mergeShards).map { try MergeShardStep.readValues(context, shard: $0) }
        return try (0..<context.plan.fieldCount).map { f in
            var order: [(id: UInt64, shard: Int32, index: Int32)] = []
            for (s, shard) in shards.enumerated() {
                for (i, id) in shard[f].ids.enumerated() { order.append((id, Int32(s), Int32(truncatingIfNeeded: i))) }
            }
            order.sort { $0.id < $1.id }
            var vocabulary = Vocabulary(capacity: max(16, order.count))
            for (position, entry) in order.enumerated() {
                let values = shards[Int(entry.shard)][f].values
                let index = values.withValue(at: Int(entry.index)) {
                    vocabulary.encode($0, count: values.counts[Int(entry.index)])
                }
                guard index == position else { break }
            }
            guard vocabulary.count == order.count, sizes.map({ $0[f] == order.count }) ?? true else {
                throw NFMError(
                    .dataset, "the merge shards' values of field \(f) do not match the merge (stale or missing shard)",
                    at: .init(file: context.steps + "/mshard"))
            }
            return vocabulary
        }
    }
}
