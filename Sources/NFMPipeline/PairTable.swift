/// The positive (rule key, corrupted value) pairs of a build, frozen per key: key `k`'s distinct values,
/// sorted, are `values[offsets[k]..<offsets[k + 1]]` (compressed sparse rows).
///
/// What negatives must avoid, in 4 bytes per pair (a hash set of pairs takes 16–32): `contains` is a
/// binary search among one key's values, O(log values of the key). Built by the merge of a partitioned
/// build from the partitions' pairs in two counting passes; membership, not order, is what sampling
/// reads, so it answers exactly as the single pass's `UInt64Set`.
struct PairTable: Sendable, Equatable {
    /// `keyCount + 1` ascending offsets into `values`.
    let offsets: [Int]
    /// Each key's distinct values, ascending.
    let values: [UInt32]

    /// No keys.
    static let empty = PairTable(offsets: [0], values: [])!

    /// Number of keys.
    var keyCount: Int { offsets.count - 1 }

    /// A table read back from a step file; `nil` unless the offsets ascend from 0 to `values.count` and each
    /// key's values strictly ascend.
    init?(offsets: [Int], values: [UInt32]) {
        guard offsets.first == 0, offsets.last == values.count else { return nil }
        for k in 0..<max(offsets.count - 1, 0) {
            guard offsets[k] <= offsets[k + 1] else { return nil }
            for i in offsets[k]..<max(offsets[k], offsets[k + 1] - 1) where values[i] >= values[i + 1] { return nil }
        }
        self.offsets = offsets
        self.values = values
    }

    /// The table of `keyCount` keys whose pairs `forEachPair` yields (duplicates allowed): it is called
    /// twice, once to count and once to fill. Each key's values are then sorted and deduplicated, on up to
    /// `threads` threads over blocks of keys (each block compacted in place, then the blocks moved together
    /// in order: the same table on any number of threads).
    init(keyCount: Int, threads: Int = 1, forEachPair: ((_ key: Int, _ value: UInt32) -> Void) -> Void) {
        // One part: the parts initializer's one-thread path (two passes, then `freeze`).
        self.init(keyCount: keyCount, parts: 1, threads: threads) { _, yield in
            withoutActuallyEscaping(yield) { forEachPair($0) }
        }
    }

    /// The table of `keyCount` keys whose pairs come in `parts` parts, part `p`'s yielded by
    /// `forEachPair(p, …)` (called twice per part, possibly on several threads at once: parts are counted
    /// and filled in parallel, each into its own slots — key `k`'s slots hold part 0's values, then part
    /// 1's, …, as one pass over the parts in order would put them). The same table as the one-part
    /// initializer given the parts' pairs in order, on any number of threads. Per-part counting takes
    /// `parts × keyCount` words; beyond 4 M of them the parts are read on one thread.
    init(
        keyCount: Int, parts: Int, threads: Int,
        forEachPair: (_ part: Int, (_ key: Int, _ value: UInt32) -> Void) -> Void
    ) {
        let (words, overflow) = keyCount.multipliedReportingOverflow(by: parts)
        let parallel = threads > 1 && parts > 1 && keyCount > 0 && !overflow && words <= 1 << 22
        var slots = parallel ? PairTable.partSlots(keyCount, parts, threads, forEachPair) : []
        var counts = [Int](repeating: 0, count: keyCount + 1)
        if parallel {
            for k in 0..<keyCount { counts[k + 1] = slots[parts * keyCount + k] }
        } else {
            for part in 0..<parts { forEachPair(part) { key, _ in counts[key + 1] += 1 } }
            for k in 0..<keyCount { counts[k + 1] += counts[k] }
        }
        var raw = [UInt32](repeating: 0, count: counts[keyCount])
        if parallel {
            raw.withUnsafeMutableBufferPointer { raw in
                slots.withUnsafeMutableBufferPointer { slots in
                    let (values, next) = (UnsafeTransfer(raw), UnsafeTransfer(slots))
                    try? ParallelTasks.forEach(count: parts, threads: threads) { part in
                        let own = next.value.baseAddress! + part * keyCount
                        forEachPair(part) { key, value in
                            values.value[own[key]] = value
                            own[key] += 1
                        }
                    }
                }
            }
        } else {
            var fill = counts
            for part in 0..<parts {
                forEachPair(part) { key, value in
                    raw[fill[key]] = value
                    fill[key] += 1
                }
            }
        }
        offsets = PairTable.freeze(&raw, counts, keyCount: keyCount, threads: threads)
        values = raw
    }

    /// Each part's first slot per key (`slots[part · keyCount + key]`: the pairs of key `key` in the parts
    /// before, and of the keys before in every part), counted on up to `threads` threads; row `parts`
    /// holds each key's end (`counts[key + 1]`).
    private static func partSlots(
        _ keyCount: Int, _ parts: Int, _ threads: Int, _ forEachPair: (Int, (Int, UInt32) -> Void) -> Void
    ) -> [Int] {
        var slots = [Int](repeating: 0, count: (parts + 1) * keyCount)
        slots.withUnsafeMutableBufferPointer { slots in
            let counts = UnsafeTransfer(slots)
            try? ParallelTasks.forEach(count: parts, threads: threads) { part in
                let own = counts.value.baseAddress! + part * keyCount
                forEachPair(part) { key, _ in own[key] += 1 }
            }
        }
        var running = 0
        for k in 0..<keyCount {
            for part in 0..<parts {
                let n = slots[part * keyCount + k]
                slots[part * keyCount + k] = running
                running += n
            }
            slots[parts * keyCount + k] = running
        }
        return slots
    }

    /// Sorts and deduplicates each key `k`'s values `raw[counts[k]..<counts[k + 1]]` (on up to `threads`
    /// threads over blocks of keys) and moves them together: `raw` becomes the table's values; returns its
    /// offsets.
    private static func freeze(_ raw: inout [UInt32], _ counts: [Int], keyCount: Int, threads: Int) -> [Int] {
        let blocks = PairTable.keyBlocks(counts, parts: threads > 1 ? threads * 4 : 1)
        var kept = [Int](repeating: 0, count: keyCount)
        raw.withUnsafeMutableBufferPointer { raw in
            kept.withUnsafeMutableBufferPointer { kept in
                let (values, distinct) = (UnsafeTransfer(raw), UnsafeTransfer(kept))
                try? ParallelTasks.forEach(count: blocks.count, threads: threads) { b in
                    PairTable.sortAndDeduplicate(values.value, distinct.value, counts, keys: blocks[b])
                }
            }
        }
        var offsets = [Int](repeating: 0, count: keyCount + 1)
        var end = 0
        raw.withUnsafeMutableBufferPointer { raw in
            for block in blocks {
                var total = 0
                for k in block { total += kept[k] }
                let from = counts[block.lowerBound]
                if from != end && total > 0 { (raw.baseAddress! + end).update(from: raw.baseAddress! + from, count: total) }
                for k in block {
                    end += kept[k]
                    offsets[k + 1] = end
                }
            }
        }
        raw.removeSubrange(end...)
        return offsets
    }

    /// Consecutive ranges of keys holding about equal numbers of pairs (`parts` at most, none empty unless
    /// there are no keys).
    private static func keyBlocks(_ counts: [Int], parts: Int) -> [Range<Int>] {
        let keyCount = counts.count - 1
        guard keyCount > 0 else { return [] }
        let share = max(1, counts[keyCount] / max(parts, 1))
        var blocks: [Range<Int>] = []
        var first = 0
        for k in 0..<keyCount where counts[k + 1] - counts[first] >= share || k == keyCount - 1 {
            blocks.append(first..<k + 1)
            first = k + 1
        }
        return blocks
    }

    /// Sorts each key of `keys` in `raw` (its pairs at `counts[k]..<counts[k + 1]`), and keeps its distinct
    /// values from the block's first slot on, consecutively; `kept[k]` = the key's distinct values.
    private static func sortAndDeduplicate(
        _ raw: UnsafeMutableBufferPointer<UInt32>, _ kept: UnsafeMutableBufferPointer<Int>, _ counts: [Int],
        keys: Range<Int>
    ) {
        var out = counts[keys.lowerBound]
        for k in keys {
            PairTable.sort(UnsafeMutableBufferPointer(rebasing: raw[counts[k]..<counts[k + 1]]))
            var previous: UInt32? = nil
            let start = out
            for i in counts[k]..<counts[k + 1] where raw[i] != previous {
                previous = raw[i]
                raw[out] = raw[i]
                out += 1
            }
            kept[k] = out - start
        }
    }

    /// Sorts `values` ascending: by insertion when they are few (a key's values in one partition: a dozen
    /// or so, where the general sort's setup costs more than the sorting), else with the standard sort.
    @inline(__always)
    static func sort<Value: Comparable>(_ values: UnsafeMutableBufferPointer<Value>) {
        guard values.count > 24 else {
            for i in values.indices.dropFirst() {
                let value = values[i]
                var j = i
                while j > 0 && values[j - 1] > value {
                    values[j] = values[j - 1]
                    j -= 1
                }
                values[j] = value
            }
            return
        }
        var values = values
        values.sort()
    }

    /// Distinct values of `key`.
    @inline(__always) func count(key: Int) -> Int { offsets[key + 1] - offsets[key] }

    /// Whether `key` was seen with `value` in a positive.
    @inline(__always) func contains(key: Int, value: Int) -> Bool {
        guard value >= 0, value <= Int(UInt32.max) else { return false }
        let target = UInt32(value)
        return values.withUnsafeBufferPointer { values in
            var (low, high) = (offsets[key], offsets[key + 1])
            while low < high {
                let mid = (low + high) / 2
                if values[mid] < target { low = mid + 1 } else { high = mid }
            }
            return low < offsets[key + 1] && values[low] == target
        }
    }
}
