import NFMKernels

/// The prediction vector `h` of NFM, FM, Wide&Deep and DeepCross: the term adds `hᵀa` for the last
/// activation `a` of each row. FM's `h` is fixed to ones (FM as NFM-0 with `h = 1`, eq. 1 of the paper).
final class PredictionVector: OutputHead {
    let weights: FloatBuffer
    let trained: Bool
    /// Standard deviation of the Glorot-normal initialisation, or nil for ones.
    let initialStd: Double?

    init(width: Int, trained: Bool, initialStd: Double?) {
        weights = FloatBuffer(count: width, repeating: 1)
        self.trained = trained
        self.initialStd = initialStd
    }

    var namedTensors: [(name: String, buffer: FloatBuffer)] { [("prediction", weights)] }
    var denseTrainable: [FloatBuffer] { trained ? [weights] : [] }
    var initializationRank: InitializationRank { .predictionVector }

    /// Glorot-normal `N(0, initialStd²)`, or ones.
    func initialize(random: inout Xoshiro256) {
        guard let std = initialStd else { return weights.fill(1) }
        for i in 0..<weights.count { weights[i] = Float(std * random.nextNormal()) }
    }

    /// Receives `∂L/∂h` when `h` is fixed, and `∂L/∂a` (`capacity × width`).
    final class Scratch: StageScratch {
        let unusedGradient: FloatBuffer
        let gradInput: FloatBuffer

        init(stage: PredictionVector, capacity: Int) {
            unusedGradient = FloatBuffer(count: stage.trained ? 0 : stage.weights.count)
            gradInput = FloatBuffer(count: capacity * stage.weights.count)
            super.init(stage: stage)
        }
    }

    func makeScratch(capacity: Int) -> StageScratch { Scratch(stage: self, capacity: capacity) }

    func forward(
        rows: Int, input: UnsafeMutablePointer<Float>, scratch: StageScratch, training: Bool,
        random: inout Xoshiro256, output: UnsafeMutablePointer<Float>
    ) {
        addRowDots(rows: rows, width: weights.count, input, weights.pointer, into: output)
    }

    func backward(
        rows: Int, input: UnsafeMutablePointer<Float>, gradOutput: UnsafePointer<Float>, scratch: StageScratch
    ) -> UnsafeMutablePointer<Float> {
        let s = scratch.of(Scratch.self)
        let gradH = trained ? s.denseGradients[0] : s.unusedGradient
        rowDotsBackward(
            rows: rows, width: weights.count, input, weights.pointer, grad: gradOutput, gradH: gradH.pointer,
            gradA: s.gradInput.pointer)
        return s.gradInput.pointer
    }
}

/// HOFM's head of each order: the term adds `Σ_f a_f` (the kernel summed over factors) for each row,
/// with dropout on the pooled vector as a mask applied inside the sum.
final class PooledSum: OutputHead {
    let width: Int
    let dropout: Float

    init(width: Int, dropout: Float) {
        self.width = width
        self.dropout = dropout
    }

    var namedTensors: [(name: String, buffer: FloatBuffer)] { [] }
    var initializationRank: InitializationRank { .predictionVector }

    /// The dropout mask and `∂L/∂a` (`capacity × width` each).
    final class Scratch: StageScratch {
        let mask: FloatBuffer
        let gradInput: FloatBuffer

        init(stage: PooledSum, capacity: Int) {
            mask = FloatBuffer(count: capacity * stage.width)
            gradInput = FloatBuffer(count: capacity * stage.width)
            super.init(stage: stage)
        }
    }

    func makeScratch(capacity: Int) -> StageScratch { Scratch(stage: self, capacity: capacity) }

    func forward(
        rows: Int, input: UnsafeMutablePointer<Float>, scratch: StageScratch, training: Bool,
        random: inout Xoshiro256, output: UnsafeMutablePointer<Float>
    ) {
        let s = scratch.of(Scratch.self)
        let masked = training && dropout > 0
        if masked { dropoutMask(count: rows * width, keep: 1 - dropout, into: s.mask.pointer, random: &random) }
        addRowSums(rows: rows, width: width, input, mask: masked ? s.mask.pointer : nil, into: output)
    }

    func backward(
        rows: Int, input: UnsafeMutablePointer<Float>, gradOutput: UnsafePointer<Float>, scratch: StageScratch
    ) -> UnsafeMutablePointer<Float> {
        let s = scratch.of(Scratch.self)
        rowSumsBackward(
            rows: rows, width: width, grad: gradOutput, mask: dropout > 0 ? s.mask.pointer : nil, into: s.gradInput.pointer)
        return s.gradInput.pointer
    }
}
