import NFMKernels

/// HOFM's order-3 input stage (Blondel et al., NIPS 2016): its own embeddings `Q` and the ANOVA kernel
/// `A³_f(x) = Σ_{i<j<l} aᵢaⱼaₗ`, `aᵢ = xᵢqᵢ,f`, per factor, in O(k·nnz) through power sums.
final class AnovaStage: SparseInputStage {
    /// Row-major `featureCount × k`.
    let embeddings: FloatBuffer
    let factors: Int

    init(featureCount: Int, factors: Int) {
        embeddings = FloatBuffer(count: featureCount * factors)
        self.factors = factors
    }

    var outputWidth: Int { factors }
    var namedTensors: [(name: String, buffer: FloatBuffer)] { [("embeddings3", embeddings)] }
    var sparseTrainable: [SparseParameter] { [SparseParameter(table: embeddings, width: factors, regularized: true)] }
    var initializationRank: InitializationRank { .orderThreeEmbeddings }

    /// Embeddings N(0, 0.01²).
    func initialize(random: inout Xoshiro256) {
        for i in 0..<embeddings.count { embeddings[i] = Float(0.01 * random.nextNormal()) }
    }

    /// The power sums `s₁`, `s₂` and the kernel, `capacity × k` each.
    final class Scratch: StageScratch {
        let sum: FloatBuffer
        let sumSquares: FloatBuffer
        let kernel: FloatBuffer

        init(stage: AnovaStage, capacity: Int) {
            sum = FloatBuffer(count: capacity * stage.factors)
            sumSquares = FloatBuffer(count: capacity * stage.factors)
            kernel = FloatBuffer(count: capacity * stage.factors)
            super.init(stage: stage)
        }
    }

    func makeScratch(capacity: Int) -> StageScratch { Scratch(stage: self, capacity: capacity) }

    func forward(
        _ x: SparseRows, scratch: StageScratch, training: Bool, random: inout Xoshiro256
    ) -> UnsafeMutablePointer<Float> {
        let s = scratch.of(Scratch.self)
        let (k, embeddings, sum, sumSquares, kernel) = (
            factors, embeddings.pointer, s.sum.pointer, s.sumSquares.pointer, s.kernel.pointer
        )
        s.pool.forEachRowBlock(x.rowCount, perRow: max(1, x.entryCount / max(1, x.rowCount)) * k * 8) { block in
            let offset = block.lowerBound * k
            anova3Forward(
                x.rows(block), factors: k, embeddings: embeddings, sum: sum + offset, sumSquares: sumSquares + offset,
                kernel: kernel + offset)
        }
        return kernel
    }

    func backward(
        _ x: SparseRows, gradient: UnsafeMutablePointer<Float>, scratch: StageScratch, slots: SlotAssignment
    ) {
        let s = scratch.of(Scratch.self)
        let (k, embeddings, sum, sumSquares) = (factors, embeddings.pointer, s.sum.pointer, s.sumSquares.pointer)
        let (entries, gradEmbeddings) = (slots.entries, s.sparseGradients[0].pointer)
        s.pool.forEachSlotBlock(slots, cost: x.entryCount * k * 10) { range in
            anova3Backward(
                x, factors: k, embeddings: embeddings, sum: sum, sumSquares: sumSquares, gradKernel: gradient,
                entries: entries, slots: range, gradEmbeddings: gradEmbeddings)
        }
    }
}
