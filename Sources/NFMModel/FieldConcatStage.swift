import NFMKernels

/// Wide&Deep's and DeepCross's input stage: the embeddings `V` and the concatenation of the row's
/// per-field embedding sums `[Σ_{i∈field 0} xᵢvᵢ, …, Σ_{i∈field F−1} xᵢvᵢ]` (`F·k` values), then dropout.
final class FieldConcatStage: SparseInputStage {
    /// Row-major `featureCount × k`.
    let embeddings: FloatBuffer
    let factors: Int
    let fieldCount: Int
    /// Field of each feature.
    let fieldOf: [Int32]
    let dropout: Float

    /// `fieldSizes`: the fields' cardinalities in feature order (they add up to the features).
    init(featureCount: Int, factors: Int, fieldSizes: [Int], dropout: Float) {
        embeddings = FloatBuffer(count: featureCount * factors)
        self.factors = factors
        fieldCount = fieldSizes.count
        var fieldOf = [Int32](repeating: 0, count: featureCount)
        var feature = 0
        for (f, size) in fieldSizes.enumerated() {
            for _ in 0..<size where feature < featureCount {
                fieldOf[feature] = Int32(f)
                feature += 1
            }
        }
        self.fieldOf = fieldOf
        self.dropout = dropout
    }

    var outputWidth: Int { fieldCount * factors }
    var namedTensors: [(name: String, buffer: FloatBuffer)] { [("embeddings", embeddings)] }
    var sparseTrainable: [SparseParameter] { [SparseParameter(table: embeddings, width: factors, regularized: true)] }
    var initializationRank: InitializationRank { .embeddings }

    /// Embeddings N(0, 0.01²).
    func initialize(random: inout Xoshiro256) {
        for i in 0..<embeddings.count { embeddings[i] = Float(0.01 * random.nextNormal()) }
    }

    /// The concatenated embeddings (`capacity × F·k`) and their dropout.
    final class Scratch: StageScratch {
        let concat: FloatBuffer
        let dropout: DropoutScratch

        init(stage: FieldConcatStage, capacity: Int) {
            concat = FloatBuffer(count: capacity * stage.outputWidth)
            dropout = DropoutScratch(ratio: stage.dropout, count: capacity * stage.outputWidth)
            super.init(stage: stage)
        }
    }

    func makeScratch(capacity: Int) -> StageScratch { Scratch(stage: self, capacity: capacity) }

    func maskRequests(rows: Int, scratch: StageScratch) -> [MaskRequest] {
        scratch.of(Scratch.self).dropout.request(count: rows * outputWidth).map { [$0] } ?? []
    }

    func forward(
        _ x: SparseRows, scratch: StageScratch, training: Bool, random: inout Xoshiro256
    ) -> UnsafeMutablePointer<Float> {
        let s = scratch.of(Scratch.self)
        let (k, fields, width, embeddings, concat) = (factors, fieldCount, outputWidth, embeddings.pointer, s.concat.pointer)
        fieldOf.withUnsafeBufferPointer { fieldOf in
            let fieldOf = fieldOf.baseAddress!
            s.pool.forEachRowBlock(x.rowCount, perRow: width + max(1, x.entryCount / max(1, x.rowCount)) * k) { block in
                fieldConcatForward(
                    x.rows(block), factors: k, fieldCount: fields, fieldOf: fieldOf, embeddings: embeddings,
                    out: concat + block.lowerBound * width)
            }
        }
        return s.dropout.forward(count: x.rowCount * width, concat, training: training, random: &random, pool: s.pool)
    }

    func backward(
        _ x: SparseRows, gradient: UnsafeMutablePointer<Float>, scratch: StageScratch, slots: SlotAssignment
    ) {
        let s = scratch.of(Scratch.self)
        s.dropout.backward(count: x.rowCount * outputWidth, gradient, pool: s.pool)
        let (k, fields, entries, gradEmbeddings) = (factors, fieldCount, slots.entries, s.sparseGradients[0].pointer)
        fieldOf.withUnsafeBufferPointer { fieldOf in
            let fieldOf = fieldOf.baseAddress!
            s.pool.forEachSlotBlock(slots, cost: x.entryCount * k * 2) { range in
                fieldConcatBackward(
                    x, factors: k, fieldCount: fields, fieldOf: fieldOf, gradConcat: gradient, entries: entries,
                    slots: range, gradEmbeddings: gradEmbeddings)
            }
        }
    }
}
