import NFMKernels

/// How a training step cuts its work into tasks for the `WorkerPool`. Every cut is fixed by the shapes
/// (rows, widths, slots), never by the thread count, and every task writes its own part of the output
/// with the same arithmetic as the whole, so results are bit-identical for every `--threads`.
extension WorkerPool {
    /// The serial pool (no worker threads).
    static let serial = WorkerPool(threads: 1)
    /// Rows per task of a row-wise operation (a multiple of the GEMM's 4-row blocks).
    static let rowGrain = 32
    /// Values per task of an element-wise operation (a multiple of the SIMD width).
    static let elementGrain = 4096
    /// Columns per task of a reduction over a batch's rows (a multiple of the SIMD width).
    static let columnGrain = 32
    /// Gradient slots (distinct features) per task of a sparse update.
    static let slotGrain = 64

    /// `body` on the fixed blocks of `grain` values of `0..<total`: on the pool when `cost` (estimated
    /// operations of the whole job) reaches `minimumParallelCost`, else in order on the calling thread
    /// (waking the workers would cost more than the work). The blocks are the same either way.
    func forEachBlock(_ total: Int, grain: Int, cost: Int, _ body: (Range<Int>) -> Void) {
        if threads > 1 && cost >= minimumParallelCost {
            forEachRange(total, grain: grain, body)
            return
        }
        var start = 0
        while start < total {
            body(start..<min(total, start + grain))
            start += grain
        }
    }

    /// Two independent block jobs as one (one hand-over to the workers instead of two): `first` on the
    /// fixed blocks of `a.grain` values of `0..<a.total`, `second` on those of `b`; `cost` estimates both.
    /// The blocks, and so the results, are those of two `forEachBlock` calls.
    func forEachBlock(
        _ a: BlockSplit, _ b: BlockSplit, cost: Int, _ first: (Range<Int>) -> Void, _ second: (Range<Int>) -> Void
    ) {
        let split = a.blocks
        forEachBlock(split + b.blocks, grain: 1, cost: cost) { task in
            let i = task.lowerBound
            if i < split { first(a.block(i)) } else { second(b.block(i - split)) }
        }
    }

    /// Three independent block jobs as one (see the two-job form).
    func forEachBlock(
        _ a: BlockSplit, _ b: BlockSplit, _ c: BlockSplit, cost: Int, _ first: (Range<Int>) -> Void,
        _ second: (Range<Int>) -> Void, _ third: (Range<Int>) -> Void
    ) {
        let (splitA, splitB) = (a.blocks, a.blocks + b.blocks)
        forEachBlock(splitB + c.blocks, grain: 1, cost: cost) { task in
            let i = task.lowerBound
            if i < splitA {
                first(a.block(i))
            } else if i < splitB {
                second(b.block(i - splitA))
            } else {
                third(c.block(i - splitB))
            }
        }
    }

    /// `body` on fixed blocks of `rowGrain` rows of `0..<rows`, `perRow` estimated operations each.
    func forEachRowBlock(_ rows: Int, perRow: Int, _ body: (Range<Int>) -> Void) {
        forEachBlock(rows, grain: Self.rowGrain, cost: rows * perRow, body)
    }

    /// `body` on fixed blocks of `elementGrain` values of `0..<count`, `perValue` estimated operations each.
    func forEachElementBlock(_ count: Int, perValue: Int = 1, _ body: (Range<Int>) -> Void) {
        forEachBlock(count, grain: Self.elementGrain, cost: count * perValue, body)
    }

    /// `body` on fixed blocks of `columnGrain` columns of a `rows × width` matrix, for reductions over the rows (each
    /// column sums its rows in order, whichever block it is in); `perCell` estimated operations per value.
    func forEachColumnBlock(_ width: Int, rows: Int, perCell: Int, _ body: (Range<Int>) -> Void) {
        forEachBlock(width, grain: Self.columnGrain, cost: rows * width * perCell, body)
    }

    /// `columnSums` of a `rows × width` matrix, in column blocks.
    func columnSums(rows: Int, width: Int, _ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        forEachColumnBlock(width, rows: rows, perCell: 1) { block in
            NFMKernels.columnSums(
                rows: rows, width: block.count, rowStride: width, x + block.lowerBound, into: out + block.lowerBound)
        }
    }

    /// `body` on fixed blocks of `slotGrain` gradient slots of `0..<slots`; `cost` estimates the whole job.
    func forEachSlotBlock(_ slots: Int, cost: Int, _ body: (Range<Int>) -> Void) {
        forEachBlock(slots, grain: Self.slotGrain, cost: cost, body)
    }

    /// `body` on the batch's slot blocks of about `SlotAssignment.entryGrain` entries each
    /// (`SlotAssignment.blockStarts`: fixed by the batch, so the same for every thread count; the first
    /// slots, a batch's frequent features, hold most entries, and blocks of equal slot counts would leave
    /// one task with most of the work); `cost` estimates the whole job.
    func forEachSlotBlock(_ slots: SlotAssignment, cost: Int, _ body: (Range<Int>) -> Void) {
        slots.blockStarts.withUnsafeBufferPointer { starts in
            forEachBlock(starts.count - 1, grain: 1, cost: cost) { task in
                body(Int(starts[task.lowerBound])..<Int(starts[task.lowerBound + 1]))
            }
        }
    }

    /// `C (+)= A·B` (see `gemm`) with the rows of `C` cut into blocks: `rowGrain` rows for activations,
    /// or, for weight gradients `Aᵀ·dZ` (`aColStride ≠ 1`), 16 rows up to `m` = 256 and 256 rows beyond.
    /// Each element of `C` sums its products over `p` in order whatever the block, so the result is that
    /// of one `gemm` call.
    func gemm(
        m: Int, n: Int, p: Int, a: UnsafePointer<Float>, aRowStride: Int, aColStride: Int, b: UnsafePointer<Float>,
        c: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        let product = GEMMBlocks(
            m: m, n: n, p: p, a: a, aRowStride: aRowStride, aColStride: aColStride, b: b, c: c, accumulate: accumulate)
        forEachBlock(m, grain: product.split.grain, cost: product.cost) { product.run($0) }
    }

    /// `operand.pack` of every column block of `B(q, j) = source[q·rowStride + j]` (or `source[j·rowStride + q]`
    /// when `transposed`), a task per block.
    func pack(_ operand: PackedOperand, of source: UnsafePointer<Float>, rowStride: Int, transposed: Bool) {
        forEachBlock(operand.columnBlocks, grain: 1, cost: operand.rows * operand.columns) {
            for b in $0 { operand.pack(columnBlock: b, of: source, rowStride: rowStride, transposed: transposed) }
        }
    }
}

/// `0..<total` cut into consecutive blocks of `grain` values (the last may be shorter): one part of a
/// combined `WorkerPool.forEachBlock` job.
struct BlockSplit {
    let total: Int
    let grain: Int

    /// Rows of a `rows`-row matrix in blocks of `WorkerPool.rowGrain`.
    static func rows(_ rows: Int) -> BlockSplit { BlockSplit(total: rows, grain: WorkerPool.rowGrain) }
    /// Columns of a `width`-wide matrix in blocks of `WorkerPool.columnGrain` (`forEachColumnBlock`'s).
    static func columns(_ width: Int) -> BlockSplit { BlockSplit(total: width, grain: WorkerPool.columnGrain) }

    var blocks: Int { (total + grain - 1) / grain }
    func block(_ i: Int) -> Range<Int> { (i * grain)..<min(total, (i + 1) * grain) }
}

/// A product `C (+)= A·B` (see `gemm`) cut into blocks of rows of `C` (`WorkerPool.gemm`'s), so that it
/// can be one part of a combined job.
struct GEMMBlocks {
    let m: Int, n: Int, p: Int
    let a: UnsafePointer<Float>, aRowStride: Int, aColStride: Int
    let b: UnsafePointer<Float>
    let c: UnsafeMutablePointer<Float>
    let accumulate: Bool

    /// `rowGrain` rows for activations; for weight gradients (`aColStride ≠ 1`) 16 rows up to `m` = 256,
    /// 256 beyond.
    var split: BlockSplit {
        BlockSplit(total: m, grain: aColStride == 1 ? WorkerPool.rowGrain : (m <= 256 ? 16 : 256))
    }

    /// Estimated operations: `2mnp`.
    var cost: Int { 2 * m * n * p }

    /// Rows `block` of `C`.
    func run(_ block: Range<Int>) {
        NFMKernels.gemm(
            m: block.count, n: n, p: p, a: a + block.lowerBound * aRowStride, aRowStride: aRowStride,
            aColStride: aColStride, b: b, c: c + block.lowerBound * n, accumulate: accumulate)
    }
}
