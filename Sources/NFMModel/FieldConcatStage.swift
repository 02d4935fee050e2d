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

    func forward(
        _ x: SparseRows, scratch: StageScratch, training: Bool, random: inout Xoshiro256
    ) -> UnsafeMutablePointer<Float> {
        let s = scratch.of(Scratch.self)
        fieldOf.withUnsafeBufferPointer { fieldOf in
            fieldConcatForward(
                x, factors: factors, fieldCount: fieldCount, fieldOf: fieldOf.baseAddress!,
                embeddings: embeddings.pointer, out: s.concat.pointer)
        }
        return s.dropout.forward(count: x.rowCount * outputWidth, s.concat.pointer, training: training, random: &random)
    }

    func backward(
        _ x: SparseRows, gradient: UnsafeMutablePointer<Float>, scratch: StageScratch,
        entrySlots: UnsafePointer<Int32>
    ) {
        let s = scratch.of(Scratch.self)
        s.dropout.backward(count: x.rowCount * outputWidth, gradient)
        fieldOf.withUnsafeBufferPointer { fieldOf in
            fieldConcatBackward(
                x, factors: factors, fieldCount: fieldCount, fieldOf: fieldOf.baseAddress!, gradConcat: gradient,
                entrySlots: entrySlots, gradEmbeddings: s.sparseGradients[0].pointer)
        }
    }
}
