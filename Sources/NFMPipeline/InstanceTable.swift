import NFMFormat

/// Every positive of a sampling build by global row, with its negatives: enough to produce any instance
/// from its position alone, so that shards are written by gathering instead of scattering records.
///
/// Row `r` holds its `fieldCount` global value indices (within their fields) and the `perPositive`
/// corrupted-field values drawn for it (`NegativeSampler.draw` on row `r`'s stream), packed in
/// `PackedRows`. When no row is unsampleable, instance `g` is row `⌊g / (k + 1)⌋`'s positive when
/// `g mod (k + 1) = 0`, else its negative number `g mod (k + 1) − 1` (k = `perPositive`): the ids a single
/// pass gives, each positive followed by its negatives. Position `p` holds instance `π⁻¹(p)`
/// (`FeistelPermutation.instance(at:)`), so a shard's instances are gathered in position order.
/// O(positives × rowBytes) memory; O(instances) time to fill and to gather, on any number of threads.
struct InstanceTable {
    let rows: PackedRows
    private let fieldCount: Int
    private let perPositive: Int
    private let corrupted: Int

    /// A table for the positives of `layout`, whose field `f` has `vocabularySizes[f]` values.
    init(plan: BuildPlan, layout: DatasetLayout, vocabularySizes: [Int]) {
        rows = PackedRows(rows: layout.counts.positives, maxima: InstanceTable.maxima(plan, vocabularySizes))
        fieldCount = plan.fieldCount
        perPositive = plan.perPositive
        corrupted = plan.corrupted
    }

    /// Column maxima: each field's largest index, then the corrupted field's for each negative.
    private static func maxima(_ plan: BuildPlan, _ sizes: [Int]) -> [UInt32] {
        let largest = sizes.map { UInt32(truncatingIfNeeded: max($0 - 1, 0)) }
        return largest + [UInt32](repeating: largest[plan.corrupted], count: plan.perPositive)
    }

    /// The bytes of the table of a build (`Int.max` when they overflow), and whether it can be used: no
    /// row unsampleable (instance ids are then `row · (k + 1) + j`).
    static func bytes(plan: BuildPlan, layout: DatasetLayout, vocabularySizes: [Int]) -> Int? {
        guard layout.counts.unsampleableRows == 0 else { return nil }
        return PackedRows.bytes(rows: layout.counts.positives, maxima: maxima(plan, vocabularySizes))
    }

    /// Fills the rows of one partition: its positives `scanned` (local indices + local key id) remapped
    /// by `remaps` and `keyRemap` (`RemapTables`), as rows `rowOffset…`, each with its negatives; each
    /// record's draws are warmed 16 records ahead (its key's filter shape 32 ahead, its entries of the large
    /// remap tables 48 ahead). Throws `.sampling` for an unsampleable key (the table is
    /// used only when there is none), `.io` for a local index outside its table (a damaged scratch file)
    /// and what reading `scanned` throws.
    func fill(
        _ scanned: any RecordSource, remaps: [[UInt32]], keyRemap: [UInt32], rowOffset: Int, sampler: NegativeSampler,
        layout: DatasetLayout
    ) throws {
        var row = rowOffset
        var drawn: [Int] = []
        let width = fieldCount + 1
        // The record's global indices and key id, then the negatives drawn over the key id.
        let values = WordBuffer(width: fieldCount + max(perPositive, 1))
        let scratch = UnsafeMutablePointer<UInt64>.allocate(capacity: rows.wordsPerRow + 1)
        defer { scratch.deallocate() }
        let tables = RemapTables(remaps + [keyRemap])
        let words = values.words.baseAddress!
        let ahead = 16 * width
        try scanned.drain { chunk in
            var start = 0
            for at in stride(from: 0, to: min(ahead, chunk.count - width + 1), by: width) {
                warm(chunk, at: at, row: row + at / width, tables, sampler, layout)
            }
            while start + width <= chunk.count {
                // Three stages, each starting the cache misses of the next: the large remap tables' entries
                // 48 records ahead, the key's filter shape 32 ahead, the draws' filter words 16 ahead.
                if start + 3 * ahead + width <= chunk.count { tables.prefetchLarge(chunk.baseAddress! + start + 3 * ahead) }
                if start + 2 * ahead + width <= chunk.count {
                    let local = Int(chunk[start + 2 * ahead + fieldCount])
                    if let key = tables.entry(fieldCount, local) { sampler.prefetchShape(key: Int(key)) }
                }
                if start + ahead + width <= chunk.count {
                    warm(chunk, at: start + ahead, row: row + 16, tables, sampler, layout)
                }
                let record = chunk.baseAddress! + start
                guard tables.remap(record, count: width, into: words) else {
                    throw NFMError(.io, "row \(row) of a scratch file holds an index outside its vocabulary")
                }
                let key = Int(words[fieldCount])
                guard !layout.unsampleableKeys[key] else { throw NFMError(.sampling, "row \(row) cannot be sampled") }
                let negatives = words + fieldCount
                if !sampler.drawWithoutFallback(row: row, key: key, into: negatives, valueCount: layout.valueCount) {
                    sampler.draw(row: row, key: key, into: &drawn, valueCount: layout.valueCount)
                    for (j, value) in drawn.enumerated() { negatives[j] = UInt32(truncatingIfNeeded: value) }
                }
                rows.store(row, words, scratch: scratch)
                row += 1
                start += width
            }
        }
    }

    /// Warms (`NegativeSampler.warm`) the draws of the record of `chunk` at `at` (row `row`): the fill
    /// warms each record 16 records before drawing it.
    @inline(__always)
    private func warm(
        _ chunk: UnsafeBufferPointer<UInt32>, at: Int, row: Int, _ tables: RemapTables, _ sampler: NegativeSampler,
        _ layout: DatasetLayout
    ) {
        // The key remap is read from the tables' copy, whose entries the fill prefetched.
        guard let key = tables.entry(fieldCount, Int(chunk[at + fieldCount])) else { return }
        sampler.warm(row: row, key: Int(key), valueCount: layout.valueCount)
    }

    /// The shard file of positions `positions`: instance `π⁻¹(p)` for each `p`, in order, with global
    /// feature indices (`featureOffsets[f]` + the value) and the label bits `bits` (positive, negative),
    /// compressed at `level`, built in `scratch` (the bytes stay valid until it is used again). Indices are
    /// gathered column by column (`FixedColumns`, column-major, padded columns), as the shard stores them;
    /// `π⁻¹` is read from `rounds` (the permutation's `RoundTable`) when given.
    func shardFile(
        _ positions: Range<Int>, permutation: FeistelPermutation, rounds: FeistelPermutation.RoundTable?,
        featureOffsets: [UInt32], labels bits: (UInt32, UInt32), level: Int, scratch: ShardScratch
    ) throws -> UnsafeRawBufferPointer {
        let count = positions.count
        let stride = ShardScratch.columnStride(rows: count)
        let columns = scratch.columns(rows: count, fieldCount: fieldCount)
        let labels = scratch.labels(rows: count)
        gather(positions, permutation, rounds, featureOffsets, bits, into: columns, columnStride: stride, labels)
        return try ShardCodec.encode(
            FixedColumns(
                values: UnsafeBufferPointer(start: columns, count: stride * fieldCount), fieldCount: fieldCount, rows: count,
                columnStride: stride),
            labels: UnsafeBufferPointer(start: labels, count: count), level: level, scratch: scratch)
    }

    /// Writes the instances of `positions` to `out` (column-major: field `f` of instance `i` at
    /// `f · columnStride + i`) and their labels to `labels`. Batches are software-pipelined: the rows of
    /// batch k + 1 are located and prefetched before batch k is copied and decoded, so that their cache
    /// misses overlap with that work instead of stalling it.
    private func gather(
        _ positions: Range<Int>, _ permutation: FeistelPermutation, _ rounds: FeistelPermutation.RoundTable?,
        _ featureOffsets: [UInt32], _ bits: (UInt32, UInt32), into out: UnsafeMutablePointer<UInt32>, columnStride: Int,
        _ labels: UnsafeMutablePointer<Float>
    ) {
        let count = positions.count
        var (current, next) = (GatherBatch(size: 64, wordsPerRow: rows.wordsPerRow), GatherBatch(size: 64, wordsPerRow: rows.wordsPerRow))
        let size = current.size
        let span = SmallDivisor(UInt64(perPositive + 1), dividendsBelow: permutation.count)
        let (positive, negative) = (Float(bitPattern: bits.0), Float(bitPattern: bits.1))
        /// Finds the rows of the batch of positions from `first` (instance → row and instance within it) and
        /// prefetches them.
        func locate(_ batch: GatherBatch, from first: Int) {
            let n = min(size, count - first)
            let from = UInt64(positions.lowerBound + first)
            if let rounds {
                rounds.instances(from: from, count: n, into: batch.instances, pending: batch.pending)
            } else {
                permutation.instances(from: from, count: n, into: batch.instances, pending: batch.pending)
            }
            span.split(batch.instances, count: n, quotients: batch.rows, remainders: batch.negatives)
            for i in 0..<n { rows.prefetchRow(batch.rows[i]) }
        }
        if count > 0 { locate(current, from: 0) }
        featureOffsets.withUnsafeBufferPointer { base in
            rows.withLayout { columns in
                let layout = Layout(base: base, columns: columns)
                for first in stride(from: 0, to: count, by: size) {
                    let n = min(size, count - first)
                    if first + size < count { locate(next, from: first + size) }
                    for i in 0..<n { rows.copyRow(current.rows[i], to: current.copies + i * current.wordsPerRow) }
                    for i in 0..<n {
                        let row = UnsafeRawPointer(current.copies + i * current.wordsPerRow)
                        let isPositive = decode(row, current.negatives[i], into: out + first + i, stride: columnStride, layout)
                        labels[first + i] = isPositive ? positive : negative
                    }
                    swap(&current, &next)
                }
            }
        }
    }

    /// The feature offsets and the packed columns, as plain memory.
    private struct Layout {
        let base: UnsafeBufferPointer<UInt32>
        let columns: UnsafeBufferPointer<PackedRows.Column>

        /// Column `column` of the row at `row`.
        @inline(__always) func value(_ row: UnsafeRawPointer, _ column: Int) -> UInt32 { columns[column].value(in: row) }
    }

    /// Writes the global feature indices of the instance `j` of the (copied) row at `row` to
    /// `out[f · stride]` (`base[f]` + value; `j` = 0 the positive, else negative `j − 1`); true for the
    /// positive.
    @inline(__always)
    private func decode(
        _ row: UnsafeRawPointer, _ j: Int, into out: UnsafeMutablePointer<UInt32>, stride: Int, _ layout: Layout
    ) -> Bool {
        for f in 0..<fieldCount { out[f &* stride] = layout.base[f] &+ layout.value(row, f) }
        guard j > 0 else { return true }
        out[corrupted &* stride] = layout.base[corrupted] &+ layout.value(row, fieldCount &+ j &- 1)
        return false
    }
}

/// Scratch memory of `InstanceTable.block`: a batch's row numbers, instance numbers within their rows
/// and row copies (with 8 bytes of padding, for the last copy's masked 4-byte reads).
private final class GatherBatch {
    let size: Int
    let wordsPerRow: Int
    let rows: UnsafeMutablePointer<Int>
    let negatives: UnsafeMutablePointer<Int>
    let copies: UnsafeMutablePointer<UInt64>
    /// The batch's instance ids and `FeistelPermutation.instances`' list of lanes still walking.
    let instances: UnsafeMutablePointer<UInt64>
    let pending: UnsafeMutablePointer<Int>

    init(size: Int, wordsPerRow: Int) {
        self.size = size
        self.wordsPerRow = wordsPerRow
        rows = .allocate(capacity: size)
        negatives = .allocate(capacity: size)
        copies = .allocate(capacity: size * wordsPerRow + 1)
        copies.initialize(repeating: 0, count: size * wordsPerRow + 1)
        instances = .allocate(capacity: size)
        pending = .allocate(capacity: size)
    }

    deinit {
        rows.deallocate()
        negatives.deallocate()
        copies.deallocate()
        instances.deallocate()
        pending.deallocate()
    }
}

/// Remap tables (local → global index) as one block of plain memory: `remap` maps a record's words,
/// word `t` through table `t`, with one range check per word and no array access.
private final class RemapTables {
    private let storage: UnsafeMutablePointer<UInt32>
    /// Table `t` starts at `storage + starts[t]` and holds `counts[t]` entries.
    private let starts: UnsafeMutablePointer<Int>
    private let counts: UnsafeMutablePointer<Int>

    /// The tables of more than 16 K entries (64 KiB), which `prefetchLarge` warms: `large[0..<largeCount]`.
    private let large: UnsafeMutablePointer<Int>
    private let largeCount: Int

    init(_ tables: [[UInt32]]) {
        let total = tables.reduce(0) { $0 + $1.count }
        let large = tables.indices.filter { tables[$0].count > 1 << 14 }
        self.large = .allocate(capacity: max(large.count, 1))
        self.large.initialize(from: large, count: large.count)
        largeCount = large.count
        storage = .allocate(capacity: max(total, 1))
        starts = .allocate(capacity: max(tables.count, 1))
        counts = .allocate(capacity: max(tables.count, 1))
        var at = 0
        for (t, table) in tables.enumerated() {
            table.withUnsafeBufferPointer { if let base = $0.baseAddress { (storage + at).initialize(from: base, count: $0.count) } }
            (starts[t], counts[t]) = (at, table.count)
            at += table.count
        }
    }

    deinit {
        storage.deallocate()
        starts.deallocate()
        counts.deallocate()
        large.deallocate()
    }

    /// Table `t`'s entry for `local`; nil when `local` is outside the table.
    @inline(__always)
    func entry(_ t: Int, _ local: Int) -> UInt32? {
        local >= 0 && local < counts[t] ? storage[starts[t] + local] : nil
    }

    /// Prefetches (`CacheHint`) the entries of the large tables that `remap` will read for `record`.
    @inline(__always)
    func prefetchLarge(_ record: UnsafePointer<UInt32>) {
        for i in 0..<largeCount {
            let t = large[i]
            let local = Int(record[t])
            CacheHint.prefetch(storage + starts[t] + (local < counts[t] ? local : 0))
        }
    }

    /// Writes table `t`'s entry for `record[t]` to `out[t]` for `t` in `0..<count`; false when a word is
    /// outside its table (only a damaged scratch file holds one).
    @inline(__always)
    func remap(_ record: UnsafePointer<UInt32>, count: Int, into out: UnsafeMutablePointer<UInt32>) -> Bool {
        var inside = true
        for t in 0..<count {
            let local = Int(record[t])
            inside = inside && local < counts[t]
            out[t] = storage[starts[t] + (local < counts[t] ? local : 0)]
        }
        return inside
    }
}
