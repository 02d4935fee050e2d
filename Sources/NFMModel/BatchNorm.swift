import NFMKernels

/// Batch-norm parameters and moving statistics of one layer (Ioffe & Szegedy 2015), TensorFlow's
/// form as the authors used it: training normalises with the batch's statistics and moves
/// `μ̄ ← decay·μ̄ + (1 − decay)·μ_batch` (same for σ̄²); inference applies `y = x·scale + shift` with
/// `scale = γ/√(σ̄² + ε)`, `shift = β − μ̄·scale`.
public final class BatchNormParameters: @unchecked Sendable {
    /// Scale γ, one per column (starts at 1).
    public let gamma: FloatBuffer
    /// Shift β, one per column (starts at 0).
    public let beta: FloatBuffer
    /// Moving average μ̄ of the batch means (starts at 0).
    public let movingMean: FloatBuffer
    /// Moving average σ̄² of the batch variances (starts at 1).
    public let movingVariance: FloatBuffer
    /// Inference form `y = x·scale + shift`, refreshed by `Model.prepareInference()`.
    let scale: FloatBuffer
    let shift: FloatBuffer
    let epsilon: Float
    let decay: Float

    init(width: Int, epsilon: Float, decay: Float) {
        gamma = FloatBuffer(count: width, repeating: 1)
        beta = FloatBuffer(count: width)
        movingMean = FloatBuffer(count: width)
        movingVariance = FloatBuffer(count: width, repeating: 1)
        scale = FloatBuffer(count: width, repeating: 1)
        shift = FloatBuffer(count: width)
        self.epsilon = epsilon
        self.decay = decay
    }

    var width: Int { gamma.count }

    /// The stored tensors under `prefix` (`.gamma`, `.beta`, `.moving_mean`, `.moving_variance`).
    func namedTensors(_ prefix: String) -> [(name: String, buffer: FloatBuffer)] {
        [
            ("\(prefix).gamma", gamma), ("\(prefix).beta", beta),
            ("\(prefix).moving_mean", movingMean), ("\(prefix).moving_variance", movingVariance),
        ]
    }

    /// Folds the moving statistics into `scale` and `shift`.
    func prepareInference() {
        for j in 0..<width {
            let s = gamma[j] / (movingVariance[j] + epsilon).squareRoot()
            scale[j] = s
            shift[j] = beta[j] - movingMean[j] * s
        }
    }

    /// Normalises `x` (`rows × width`) in place: with the batch's statistics (kept in `scratch`, moving
    /// averages updated) when training, with `scale`/`shift` otherwise. The statistics are summed in blocks
    /// of columns on `pool` (each column over the rows in order), then the rows normalised in row blocks,
    /// each block followed by `epilogue` on its rows (what the layer does next row by row: activation,
    /// dropout), in the same task.
    func forward(
        rows: Int, _ x: UnsafeMutablePointer<Float>, scratch: BatchNormScratch, training: Bool, pool: WorkerPool,
        epilogue: (Range<Int>) -> Void = { _ in }
    ) {
        let normalize = forwardRows(rows: rows, x, scratch: scratch, training: training, pool: pool)
        pool.forEachRowBlock(rows, perRow: 6 * width) { block in
            normalize(block)
            epilogue(block)
        }
    }

    /// `forward` up to its row job, which is returned instead of run: in training the batch's statistics
    /// (column blocks on `pool`) and the moving averages; the returned work normalises a block of rows
    /// (`x`, `scratch` and the parameters must stay alive and unchanged until it has run on every block).
    func forwardRows(
        rows: Int, _ x: UnsafeMutablePointer<Float>, scratch: BatchNormScratch, training: Bool, pool: WorkerPool
    ) -> RowWork {
        let n = width
        guard training else {
            let (scale, shift) = (scale.pointer, shift.pointer)
            return { block in
                scaleShiftColumns(rows: block.count, width: n, x + block.lowerBound * n, scale: scale, shift: shift)
            }
        }
        let (mean, invStd, normalized) = (scratch.mean.pointer, scratch.invStd.pointer, scratch.normalized.pointer)
        let (variance, epsilon) = (scratch.variance.pointer, epsilon)
        pool.forEachColumnBlock(n, rows: rows, perCell: 4) { block in
            let at = block.lowerBound
            batchNormStatistics(
                rows: rows, width: block.count, rowStride: n, x + at, epsilon: epsilon, mean: mean + at,
                variance: variance + at, invStd: invStd + at)
        }
        updateMovingAverages(scratch)
        let (gamma, beta) = (gamma.pointer, beta.pointer)
        return { block in
            let offset = block.lowerBound * n
            batchNormApply(
                rows: block.count, width: n, x + offset, gamma: gamma, beta: beta, mean: mean, invStd: invStd,
                normalized: normalized + offset)
        }
    }

    /// `μ̄ ← decay·μ̄ + (1 − decay)·μ_batch` and the same for σ̄², from the batch statistics in `scratch`.
    /// O(width).
    func updateMovingAverages(_ scratch: BatchNormScratch) {
        batchNormMovingAverages(
            width: width, decay: decay, mean: scratch.mean.pointer, variance: scratch.variance.pointer,
            movingMean: movingMean.pointer, movingVariance: movingVariance.pointer)
    }

    /// Backward of a training-mode `forward`, in place on `gradient`; writes ∂γ and ∂β (in column blocks,
    /// each column over the rows in order), then the input gradient in row blocks on `pool`. `prologue`
    /// runs first on each column block, in the same task: what the layer's backward does to `gradient`
    /// value by value before batch norm (dropout's mask, the activation's derivative), on those columns of
    /// every row.
    func backward(
        rows: Int, gradient: UnsafeMutablePointer<Float>, scratch: BatchNormScratch, gradGamma: FloatBuffer,
        gradBeta: FloatBuffer, pool: WorkerPool, prologue: (Range<Int>) -> Void = { _ in }
    ) {
        let n = width
        let (normalized, invStd, gamma) = (scratch.normalized.pointer, scratch.invStd.pointer, gamma.pointer)
        let (gradGamma, gradBeta) = (gradGamma.pointer, gradBeta.pointer)
        pool.forEachColumnBlock(n, rows: rows, perCell: 5) { block in
            prologue(block)
            let at = block.lowerBound
            batchNormParameterGradients(
                rows: rows, width: block.count, rowStride: n, grad: gradient + at, normalized: normalized + at,
                gradGamma: gradGamma + at, gradBeta: gradBeta + at)
        }
        pool.forEachRowBlock(rows, perRow: 6 * n) { block in
            let offset = block.lowerBound * n
            batchNormInputGradient(
                rows: block.count, batchRows: rows, width: n, grad: gradient + offset, normalized: normalized + offset,
                gamma: gamma, invStd: invStd, gradGamma: gradGamma, gradBeta: gradBeta)
        }
    }
}

/// A batch-norm layer's training-mode intermediates: `x̂` (`capacity × width`) and the batch's μ, σ²
/// and 1/√(σ² + ε).
final class BatchNormScratch {
    let normalized: FloatBuffer
    let mean: FloatBuffer
    let variance: FloatBuffer
    let invStd: FloatBuffer

    init(width: Int, capacity: Int) {
        normalized = FloatBuffer(count: capacity * width)
        mean = FloatBuffer(count: width)
        variance = FloatBuffer(count: width)
        invStd = FloatBuffer(count: width)
    }
}
