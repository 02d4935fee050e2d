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
    /// by `remaps` and `keyRemap`, as rows `rowOffset…`, each with its negatives. Throws `.sampling` for
    /// an unsampleable key (the table is used only when there is none) and what reading `scanned` throws.
    func fill(
        _ scanned: RecordSpill, remaps: [[UInt32]], keyRemap: [UInt32], rowOffset: Int, sampler: NegativeSampler,
        layout: DatasetLayout
    ) throws {
        var row = rowOffset
        var drawn: [Int] = []
        let width = fieldCount + 1
        let values = WordBuffer(width: fieldCount + perPositive)
        let scratch = UnsafeMutablePointer<UInt64>.allocate(capacity: rows.wordsPerRow + 1)
        defer { scratch.deallocate() }
        var warmed: UInt64 = 0
        defer { keepAlive(warmed) }
        try scanned.drain { chunk in
            var start = 0
            while start + width <= chunk.count {
                if (row - rowOffset) & 15 == 0 {
                    warmed ^= warm(chunk, from: start, row: row, keyRemap: keyRemap, sampler, layout)
                }
                for f in 0..<fieldCount { values.words[f] = remaps[f][Int(chunk[start + f])] }
                let key = Int(keyRemap[Int(chunk[start + fieldCount])])
                guard !layout.unsampleableKeys[key] else { throw NFMError(.sampling, "row \(row) cannot be sampled") }
                let negatives = values.words.baseAddress! + fieldCount
                if !sampler.drawWithoutFallback(row: row, key: key, into: negatives, valueCount: layout.valueCount) {
                    sampler.draw(row: row, key: key, into: &drawn, valueCount: layout.valueCount)
                    for (j, value) in drawn.enumerated() { negatives[j] = UInt32(truncatingIfNeeded: value) }
                }
                rows.store(row, values.words.baseAddress!, scratch: scratch)
                row += 1
                start += width
            }
        }
    }

    /// Warms (`NegativeSampler.warm`) the draws of the next 16 records of `chunk` from `start` (rows
    /// `row…`), so that their cache misses overlap.
    @inline(__always)
    private func warm(
        _ chunk: UnsafeBufferPointer<UInt32>, from start: Int, row: Int, keyRemap: [UInt32],
        _ sampler: NegativeSampler, _ layout: DatasetLayout
    ) -> UInt64 {
        var combined: UInt64 = 0
        var (at, r) = (start, row)
        while at + fieldCount + 1 <= chunk.count && r < row + 16 {
            let key = Int(keyRemap[Int(chunk[at + fieldCount])])
            combined ^= sampler.warm(row: r, key: key, valueCount: layout.valueCount)
            (at, r) = (at + fieldCount + 1, r + 1)
        }
        return combined
    }

    /// The shard file of positions `positions`: instance `π⁻¹(p)` for each `p`, in order, with global
    /// feature indices (`featureOffsets[f]` + the value) and the label bits `bits` (positive, negative),
    /// compressed at `level`, built in `scratch` (the bytes stay valid until it is used again). Indices are
    /// gathered column by column (`FixedColumns`, column-major, padded columns), as the shard stores them.
    func shardFile(
        _ positions: Range<Int>, permutation: FeistelPermutation, featureOffsets: [UInt32], labels bits: (UInt32, UInt32),
        level: Int, scratch: ShardScratch
    ) throws -> UnsafeRawBufferPointer {
        let count = positions.count
        let stride = ShardScratch.columnStride(rows: count)
        let columns = scratch.columns(rows: count, fieldCount: fieldCount)
        let labels = scratch.labels(rows: count)
        gather(positions, permutation, featureOffsets, bits, into: columns, columnStride: stride, labels)
        return try ShardCodec.encode(
            FixedColumns(
                values: UnsafeBufferPointer(start: columns, count: stride * fieldCount), fieldCount: fieldCount, rows: count,
                columnStride: stride),
            labels: UnsafeBufferPointer(start: labels, count: count), level: level, scratch: scratch)
    }

    /// Writes the instances of `positions` to `out` (column-major: field `f` of instance `i` at
    /// `f · columnStride + i`) and their labels to `labels`.
    private func gather(
        _ positions: Range<Int>, _ permutation: FeistelPermutation, _ featureOffsets: [UInt32], _ bits: (UInt32, UInt32),
        into out: UnsafeMutablePointer<UInt32>, columnStride: Int, _ labels: UnsafeMutablePointer<Float>
    ) {
        let count = positions.count
        let batch = GatherBatch(size: 64, wordsPerRow: rows.wordsPerRow)
        let span = SmallDivisor(UInt64(perPositive + 1), dividendsBelow: permutation.count)
        let (positive, negative) = (Float(bitPattern: bits.0), Float(bitPattern: bits.1))
        featureOffsets.withUnsafeBufferPointer { base in
            rows.withLayout { columns in
                let layout = Layout(base: base, columns: columns)
                for first in stride(from: 0, to: count, by: batch.size) {
                    let n = min(batch.size, count - first)
                    permutation.instances(
                        from: UInt64(positions.lowerBound + first), count: n, into: batch.instances, pending: batch.pending)
                    span.split(batch.instances, count: n, quotients: batch.rows, remainders: batch.negatives)
                    for i in 0..<n { rows.copyRow(batch.rows[i], to: batch.copies + i * batch.wordsPerRow) }
                    for i in 0..<n {
                        let row = UnsafeRawPointer(batch.copies + i * batch.wordsPerRow)
                        let isPositive = decode(row, batch.negatives[i], into: out + first + i, stride: columnStride, layout)
                        labels[first + i] = isPositive ? positive : negative
                    }
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
        for f in 0..<fieldCount { out[f * stride] = layout.base[f] &+ layout.value(row, f) }
        guard j > 0 else { return true }
        out[corrupted * stride] = layout.base[corrupted] &+ layout.value(row, fieldCount + j - 1)
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

/// Keeps `value` (and the loads that made it) from being optimised away.
@_optimize(none) private func keepAlive(_ value: UInt64) {}
