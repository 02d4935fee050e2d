import NFMKernels

/// The bias and first-order part of every model: `w₀ + Σᵢ wᵢxᵢ` (DeepCross, as in its paper, keeps the
/// bias only). Its output starts the prediction that the interaction terms add to.
final class LinearTerm: ModelStage {
    let bias: FloatBuffer
    /// `wᵢ`, one per feature (empty without a first-order part).
    let weights: FloatBuffer
    let hasWeights: Bool

    init(featureCount: Int, hasWeights: Bool) {
        bias = FloatBuffer(count: 1)
        weights = FloatBuffer(count: hasWeights ? featureCount : 0)
        self.hasWeights = hasWeights
    }

    var namedTensors: [(name: String, buffer: FloatBuffer)] {
        hasWeights ? [("bias", bias), ("linear", weights)] : [("bias", bias)]
    }
    var denseTrainable: [FloatBuffer] { [bias] }
    var sparseTrainable: [SparseParameter] {
        hasWeights ? [SparseParameter(table: weights, width: 1, regularized: false)] : []
    }
    var initializationRank: InitializationRank { .embeddings }

    /// Bias and weights start at 0.
    func initialize(random: inout Xoshiro256) {
        weights.fill(0)
        bias.fill(0)
    }

    func makeScratch(capacity: Int) -> StageScratch { StageScratch(stage: self) }

    /// `output[r] = w₀ + Σᵢ xᵢwᵢ` (overwrites), rows in blocks on `pool`.
    func forward(_ x: SparseRows, output: UnsafeMutablePointer<Float>, pool: WorkerPool) {
        if hasWeights {
            let (weights, bias) = (weights.pointer, bias[0])
            pool.forEachRowBlock(x.rowCount, perRow: max(1, x.entryCount / max(1, x.rowCount))) { rows in
                linearForward(x.rows(rows), weights: weights, bias: bias, out: output + rows.lowerBound)
            }
        } else {
            output.update(repeating: bias[0], count: x.rowCount)
        }
    }

    /// `output[r] = w₀ + Σᵢ xᵢwᵢ` for the rows `rows` of `x` only (overwrites; the same bits as `forward`).
    func forward(_ x: SparseRows, rows: Range<Int>, output: UnsafeMutablePointer<Float>) {
        if hasWeights {
            linearForward(x.rows(rows), weights: weights.pointer, bias: bias[0], out: output + rows.lowerBound)
        } else {
            (output + rows.lowerBound).update(repeating: bias[0], count: rows.count)
        }
    }

    /// `∂L/∂w₀ = Σ_r g[r]` (summed in row order); `∂L/∂wᵢ` by batch slot, slots in blocks on the pool.
    func backward(_ x: SparseRows, gradOutput g: UnsafePointer<Float>, scratch: StageScratch, slots: SlotAssignment) {
        var total: Float = 0
        for r in 0..<x.rowCount { total += g[r] }
        scratch.denseGradients[0][0] = total
        if hasWeights {
            let (entries, gradient) = (slots.entries, scratch.sparseGradients[0].pointer)
            scratch.pool.forEachSlotBlock(slots, cost: 2 * x.entryCount) { range in
                linearBackward(x, gradOutput: g, entries: entries, slots: range, gradWeights: gradient)
            }
        }
    }
}
