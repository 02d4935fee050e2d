import NFMKernels

/// NFM's and FM's input stage (He & Chua, SIGIR 2017, eq. 4), also HOFM's order-2 term: the embeddings
/// `V` and Bi-Interaction pooling `f_BI(V, x) = ½[(Σᵢ xᵢvᵢ)² − Σᵢ (xᵢvᵢ)²]` in O(k·nnz), then batch norm
/// (optional) and dropout on the pooled `k`-vector.
final class BiInteractionStage: SparseInputStage {
    /// Row-major `featureCount × k`.
    let embeddings: FloatBuffer
    let factors: Int
    let norm: BatchNormParameters?
    let dropout: Float

    init(featureCount: Int, factors: Int, norm: BatchNormParameters?, dropout: Float) {
        embeddings = FloatBuffer(count: featureCount * factors)
        self.factors = factors
        self.norm = norm
        self.dropout = dropout
    }

    var outputWidth: Int { factors }
    var namedTensors: [(name: String, buffer: FloatBuffer)] {
        [("embeddings", embeddings)] + (norm?.namedTensors("bi_norm") ?? [])
    }
    var denseTrainable: [FloatBuffer] { norm.map { [$0.gamma, $0.beta] } ?? [] }
    var sparseTrainable: [SparseParameter] { [SparseParameter(table: embeddings, width: factors, regularized: true)] }
    var batchNorms: [BatchNormParameters] { norm.map { [$0] } ?? [] }
    var initializationRank: InitializationRank { .embeddings }

    /// Embeddings N(0, 0.01²).
    func initialize(random: inout Xoshiro256) {
        for i in 0..<embeddings.count { embeddings[i] = Float(0.01 * random.nextNormal()) }
    }

    /// Sums `Σᵢ xᵢvᵢ` and the pooled vectors (`capacity × k` each), batch-norm intermediates, dropout.
    final class Scratch: StageScratch {
        let sum: FloatBuffer
        let pooled: FloatBuffer
        let norm: BatchNormScratch?
        let dropout: DropoutScratch

        init(stage: BiInteractionStage, capacity: Int) {
            let count = capacity * stage.factors
            sum = FloatBuffer(count: count)
            pooled = FloatBuffer(count: count)
            norm = stage.norm.map { _ in BatchNormScratch(width: stage.factors, capacity: capacity) }
            dropout = DropoutScratch(ratio: stage.dropout, count: count)
            super.init(stage: stage)
        }
    }

    func makeScratch(capacity: Int) -> StageScratch { Scratch(stage: self, capacity: capacity) }

    func maskRequests(rows: Int, scratch: StageScratch) -> [MaskRequest] {
        scratch.of(Scratch.self).dropout.request(count: rows * factors).map { [$0] } ?? []
    }

    func forward(
        _ x: SparseRows, scratch: StageScratch, training: Bool, random: inout Xoshiro256
    ) -> UnsafeMutablePointer<Float> {
        let (output, pending) = forwardDeferringRows(x, scratch: scratch, training: training, random: &random)
        if let pending { scratch.pool.forEachRowBlock(x.rowCount, perRow: 6 * factors, pending) }
        return output
    }

    /// Bi-Interaction pooling (row blocks), then with batch norm its statistics; the normalisation and
    /// dropout of each row block are handed back as `pending` (without batch norm, dropout runs here).
    func forwardDeferringRows(
        _ x: SparseRows, scratch: StageScratch, training: Bool, random: inout Xoshiro256
    ) -> (output: UnsafeMutablePointer<Float>, pending: RowWork?) {
        let s = scratch.of(Scratch.self)
        let rows = x.rowCount
        let (k, embeddings, sum, pooled) = (factors, embeddings.pointer, s.sum.pointer, s.pooled.pointer)
        s.pool.forEachRowBlock(rows, perRow: max(1, x.entryCount / max(1, x.rowCount)) * k * 3) { block in
            let offset = block.lowerBound * k
            biInteractionForward(
                x.rows(block), factors: k, embeddings: embeddings, sum: sum + offset, interaction: pooled + offset)
        }
        guard let norm, let normScratch = s.norm else {
            return (s.dropout.forward(count: rows * k, pooled, training: training, random: &random, pool: s.pool), nil)
        }
        let dropout = s.dropout
        let active = dropout.prepare(training: training, count: rows * k, random: &random)
        let normalize = norm.forwardRows(rows: rows, pooled, scratch: normScratch, training: training, pool: s.pool)
        let pending: RowWork = { block in
            normalize(block)
            if active { dropout.apply((block.lowerBound * k)..<(block.upperBound * k), pooled) }
        }
        return (dropout.output(pooled, active: active), pending)
    }

    func backward(
        _ x: SparseRows, gradient: UnsafeMutablePointer<Float>, scratch: StageScratch, slots: SlotAssignment
    ) {
        let s = scratch.of(Scratch.self)
        if let norm, let normScratch = s.norm {
            // Dropout's mask inside batch norm's column job, block by block.
            let (k, rows, mask) = (factors, x.rowCount, s.dropout.ratio > 0 ? s.dropout.mask.pointer : nil)
            norm.backward(
                rows: rows, gradient: gradient, scratch: normScratch, gradGamma: s.denseGradients[0],
                gradBeta: s.denseGradients[1], pool: s.pool
            ) { block in
                guard let mask else { return }
                let at = block.lowerBound
                maskedActivationBackward(
                    .identity, rows: rows, width: block.count, rowStride: k, mask: mask + at, output: gradient + at,
                    grad: gradient + at)
            }
        } else {
            s.dropout.backward(count: x.rowCount * factors, gradient, pool: s.pool)
        }
        let (k, embeddings, sum, entries) = (factors, embeddings.pointer, s.sum.pointer, slots.entries)
        let gradEmbeddings = s.sparseGradients[0].pointer
        s.pool.forEachSlotBlock(slots, cost: x.entryCount * k * 4) { range in
            biInteractionBackward(
                x, factors: k, embeddings: embeddings, sum: sum, gradInteraction: gradient, entries: entries,
                slots: range, gradEmbeddings: gradEmbeddings)
        }
    }
}
