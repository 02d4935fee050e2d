/// The global rule keys as partitions are merged in order (`VocabularyMerge`'s numbering): for a
/// one-field rule a key's id is its value's global index; otherwise key tuples of global indices are
/// numbered by first appearance.
struct GlobalKeys {
    private let ruleKey: [Int]
    private var tuples: Vocabulary?
    private var keyFieldCounts: [Int]
    /// Per merged partition, local key id → global key id.
    private(set) var remaps: [[UInt32]] = []

    init(plan: BuildPlan, keyFieldSize: Int) {
        ruleKey = plan.ruleKey
        tuples = plan.ruleKey.count == 1 ? nil : Vocabulary(capacity: 1 << 12)
        keyFieldCounts = plan.ruleKey.count == 1 ? [Int](repeating: 0, count: keyFieldSize) : []
    }

    /// Number of global keys.
    var count: Int { tuples?.count ?? keyFieldCounts.count }
    /// Rows per global key.
    var counts: [Int] { tuples?.counts ?? keyFieldCounts }

    /// Adds the next partition's keys (tuples of its local indices) given its remap tables; returns its
    /// key table.
    mutating func add(_ keys: ValueList, tables: [[UInt32]]) -> [UInt32] {
        var table = [UInt32](repeating: 0, count: keys.count)
        var tuple = [UInt32](repeating: 0, count: ruleKey.count)
        for local in 0..<keys.count {
            keys.withValue(at: local) { bytes in
                for (k, f) in ruleKey.enumerated() {
                    let index = (0..<4).reduce(0) { $0 | Int(bytes[4 * k + $1]) << (8 * $1) }
                    tuple[k] = tables[f][index]
                }
            }
            if tuples == nil {
                table[local] = tuple[0]
                keyFieldCounts[Int(tuple[0])] += keys.counts[local]
            } else {
                let global = tuple.withUnsafeBytes { tuples!.encode($0.bindMemory(to: UInt8.self), count: keys.counts[local]) }
                table[local] = UInt32(truncatingIfNeeded: global)
            }
        }
        remaps.append(table)
        return table
    }
}
