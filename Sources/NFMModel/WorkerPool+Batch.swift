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
    /// Gradient slots (distinct features) per task of a sparse backward pass or update.
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

    /// `body` on fixed blocks of `rowGrain` rows of `0..<rows`, `perRow` estimated operations each.
    func forEachRowBlock(_ rows: Int, perRow: Int, _ body: (Range<Int>) -> Void) {
        forEachBlock(rows, grain: Self.rowGrain, cost: rows * perRow, body)
    }

    /// `body` on fixed blocks of `elementGrain` values of `0..<count`, `perValue` estimated operations each.
    func forEachElementBlock(_ count: Int, perValue: Int = 1, _ body: (Range<Int>) -> Void) {
        forEachBlock(count, grain: Self.elementGrain, cost: count * perValue, body)
    }

    /// `body` on fixed blocks of 16 columns of a `rows × width` matrix, for reductions over the rows (each
    /// column sums its rows in order, whichever block it is in); `perCell` estimated operations per value.
    func forEachColumnBlock(_ width: Int, rows: Int, perCell: Int, _ body: (Range<Int>) -> Void) {
        forEachBlock(width, grain: 16, cost: rows * width * perCell, body)
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

    /// `C (+)= A·B` (see `gemm`) with the rows of `C` cut into blocks: `rowGrain` rows for activations,
    /// or, for weight gradients `Aᵀ·dZ` (`aColStride ≠ 1`), 16 rows up to `m` = 256 and 256 rows beyond.
    /// Each element of `C` sums its products over `p` in order whatever the block, so the result is that
    /// of one `gemm` call.
    func gemm(
        m: Int, n: Int, p: Int, a: UnsafePointer<Float>, aRowStride: Int, aColStride: Int, b: UnsafePointer<Float>,
        c: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        let grain = aColStride == 1 ? Self.rowGrain : (m <= 256 ? 16 : 256)
        forEachBlock(m, grain: grain, cost: 2 * m * n * p) { block in
            NFMKernels.gemm(
                m: block.count, n: n, p: p, a: a + block.lowerBound * aRowStride, aRowStride: aRowStride,
                aColStride: aColStride, b: b, c: c + block.lowerBound * n, accumulate: accumulate)
        }
    }

    /// `out[n×m] = inᵀ` for a row-major `m × n` matrix, in blocks of 32 input rows.
    func transpose(rows m: Int, columns n: Int, _ input: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        forEachBlock(m, grain: 32, cost: m * n) { block in
            var j0 = 0
            while j0 < n {
                let j1 = min(j0 + 32, n)
                for i in block {
                    let row = input + i * n
                    for j in j0..<j1 { out[j * m + i] = row[j] }
                }
                j0 = j1
            }
        }
    }
}
