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
        let (n, h) = (weights.count, weights.pointer)
        scratch.pool.forEachRowBlock(rows, perRow: 2 * n) { block in
            addRowDots(rows: block.count, width: n, input + block.lowerBound * n, h, into: output + block.lowerBound)
        }
    }

    func backward(
        rows: Int, input: UnsafeMutablePointer<Float>, gradOutput: UnsafePointer<Float>, scratch: StageScratch
    ) -> UnsafeMutablePointer<Float> {
        let s = scratch.of(Scratch.self)
        let (n, h, gradA) = (weights.count, weights.pointer, s.gradInput.pointer)
        let gradH = (trained ? s.denseGradients[0] : s.unusedGradient).pointer
        // `∂h` in column blocks (when trained) and `∂a` in row blocks, one job.
        s.pool.forEachBlock(.columns(trained ? n : 0), .rows(rows), cost: 4 * rows * n) { block in
            let at = block.lowerBound
            weightedColumnSums(
                rows: rows, width: block.count, rowStride: n, input + at, weights: gradOutput, into: gradH + at)
        } _: { block in
            let at = block.lowerBound
            scaledRows(rows: block.count, width: n, h, scales: gradOutput + at, into: gradA + at * n)
        }
        return gradA
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
        /// Whether `mask` already holds the next forward pass's mask (`maskRequests`).
        var predrawn = false

        init(stage: PooledSum, capacity: Int) {
            mask = FloatBuffer(count: capacity * stage.width)
            gradInput = FloatBuffer(count: capacity * stage.width)
            super.init(stage: stage)
        }
    }

    func makeScratch(capacity: Int) -> StageScratch { Scratch(stage: self, capacity: capacity) }

    func maskRequests(rows: Int, scratch: StageScratch) -> [MaskRequest] {
        guard dropout > 0 else { return [] }
        let s = scratch.of(Scratch.self)
        s.predrawn = true
        return [MaskRequest(mask: s.mask.pointer, count: rows * width, keep: 1 - dropout)]
    }

    func forward(
        rows: Int, input: UnsafeMutablePointer<Float>, scratch: StageScratch, training: Bool,
        random: inout Xoshiro256, output: UnsafeMutablePointer<Float>
    ) {
        let s = scratch.of(Scratch.self)
        let masked = training && dropout > 0
        if masked && !s.predrawn { dropoutMask(count: rows * width, keep: 1 - dropout, into: s.mask.pointer, random: &random) }
        s.predrawn = false
        let (n, mask) = (width, masked ? s.mask.pointer : nil)
        s.pool.forEachRowBlock(rows, perRow: 2 * n) { block in
            let at = block.lowerBound
            addRowSums(rows: block.count, width: n, input + at * n, mask: mask.map { $0 + at * n }, into: output + at)
        }
    }

    func backward(
        rows: Int, input: UnsafeMutablePointer<Float>, gradOutput: UnsafePointer<Float>, scratch: StageScratch
    ) -> UnsafeMutablePointer<Float> {
        let s = scratch.of(Scratch.self)
        let (n, mask, gradA) = (width, dropout > 0 ? s.mask.pointer : nil, s.gradInput.pointer)
        s.pool.forEachRowBlock(rows, perRow: 2 * n) { block in
            let at = block.lowerBound
            rowSumsBackward(
                rows: block.count, width: n, grad: gradOutput + at, mask: mask.map { $0 + at * n }, into: gradA + at * n)
        }
        return gradA
    }
}
