import NFMKernels

/// One hidden layer: `z = aW + b`, then batch norm, activation and dropout.
public final class DenseLayer: @unchecked Sendable {
    /// Width of the layer's input `a`.
    public let inputWidth: Int
    /// Width of the layer's output.
    public let width: Int
    /// `W`, row-major `inputWidth × width`.
    public let weight: FloatBuffer
    /// `b`, `width` values.
    public let bias: FloatBuffer
    /// Batch norm after `aW + b`, when the model uses it.
    public let norm: BatchNormParameters?

    init(inputWidth: Int, width: Int, norm: BatchNormParameters?) {
        self.inputWidth = inputWidth
        self.width = width
        weight = FloatBuffer(count: inputWidth * width)
        bias = FloatBuffer(count: width)
        self.norm = norm
    }
}

/// NFM's and Wide&Deep's hidden layers, each `dropout(activation(BN(a·W + b)))` (He & Chua, eq. 5).
final class DenseStack: HiddenStage {
    let layers: [DenseLayer]
    let activation: ActivationKind
    /// Dropout ratio after each layer.
    let dropout: [Float]

    init(layers: [DenseLayer], activation: ActivationKind, dropout: [Float]) {
        self.layers = layers
        self.activation = activation
        self.dropout = dropout
    }

    var outputWidth: Int { layers.last?.width ?? 0 }
    var namedTensors: [(name: String, buffer: FloatBuffer)] {
        layers.enumerated().flatMap { i, layer in
            [("layer\(i).weight", layer.weight), ("layer\(i).bias", layer.bias)]
                + (layer.norm?.namedTensors("layer\(i).norm") ?? [])
        }
    }
    var denseTrainable: [FloatBuffer] {
        layers.flatMap { [$0.weight, $0.bias] + ($0.norm.map { [$0.gamma, $0.beta] } ?? []) }
    }
    var batchNorms: [BatchNormParameters] { layers.compactMap(\.norm) }
    var initializationRank: InitializationRank { .hiddenLayers }

    /// Weights, then biases, of each layer Glorot-normal: std √(2/(fan_in + fan_out)).
    func initialize(random: inout Xoshiro256) {
        for layer in layers {
            let std = (2.0 / Double(layer.inputWidth + layer.width)).squareRoot()
            for i in 0..<layer.weight.count { layer.weight[i] = Float(std * random.nextNormal()) }
            for i in 0..<layer.bias.count { layer.bias[i] = Float(std * random.nextNormal()) }
        }
    }

    /// Per layer: the activation, its batch-norm intermediates and dropout; shared backward buffers.
    final class Scratch: StageScratch {
        let hidden: [FloatBuffer]
        let norms: [BatchNormScratch?]
        let dropouts: [DropoutScratch]
        /// The activation each layer passed on (set by `forward`).
        var outputs: [UnsafeMutablePointer<Float>]
        /// Ping-pong `∂L/∂input` buffers and `Wᵀ`.
        let gradients: (FloatBuffer, FloatBuffer)
        let transposed: FloatBuffer
        /// `denseGradients` by layer: ∂W, ∂b, then ∂γ, ∂β with batch norm.
        private(set) var layerGradients: [[FloatBuffer]] = []

        init(stage: DenseStack, capacity: Int) {
            let layers = stage.layers
            hidden = layers.map { FloatBuffer(count: capacity * $0.width) }
            norms = layers.map { layer in layer.norm.map { _ in BatchNormScratch(width: layer.width, capacity: capacity) } }
            dropouts = zip(layers, stage.dropout).map { DropoutScratch(ratio: $1, count: capacity * $0.width) }
            outputs = hidden.map(\.pointer)
            let widest = layers.map(\.inputWidth).max() ?? 0
            gradients = (FloatBuffer(count: capacity * widest), FloatBuffer(count: capacity * widest))
            transposed = FloatBuffer(count: layers.map { $0.inputWidth * $0.width }.max() ?? 0)
            super.init(stage: stage)
            var next = 0
            for layer in layers {
                let count = layer.norm == nil ? 2 : 4
                layerGradients.append(Array(denseGradients[next..<(next + count)]))
                next += count
            }
        }
    }

    func makeScratch(capacity: Int) -> StageScratch { Scratch(stage: self, capacity: capacity) }

    func maskRequests(rows: Int, scratch: StageScratch) -> [MaskRequest] {
        zip(layers, scratch.of(Scratch.self).dropouts).compactMap { layer, dropout in dropout.request(count: rows * layer.width) }
    }

    func forward(
        rows: Int, input: UnsafeMutablePointer<Float>, scratch: StageScratch, training: Bool,
        random: inout Xoshiro256
    ) -> UnsafeMutablePointer<Float> {
        let s = scratch.of(Scratch.self)
        let pool = s.pool
        var current = input
        for (l, layer) in layers.enumerated() {
            let h = s.hidden[l].pointer
            let (n, p, bias, weight, input) = (layer.width, layer.inputWidth, layer.bias.pointer, layer.weight.pointer, current)
            let activateNow = layer.norm == nil
            let activation = activation
            pool.forEachRowBlock(rows, perRow: 2 * n * p) { block in
                let hb = h + block.lowerBound * n
                for r in 0..<block.count { (hb + r * n).update(from: bias, count: n) }
                NFMKernels.gemm(
                    m: block.count, n: n, p: p, a: input + block.lowerBound * p, aRowStride: p, aColStride: 1, b: weight,
                    c: hb, accumulate: true)
                if activateNow { activationForward(activation, count: block.count * n, hb) }
            }
            if let norm = layer.norm, let normScratch = s.norms[l] {
                norm.forward(rows: rows, h, scratch: normScratch, training: training, pool: pool)
                pool.forEachElementBlock(rows * n) { block in
                    activationForward(activation, count: block.count, h + block.lowerBound)
                }
            }
            current = s.dropouts[l].forward(count: rows * n, h, training: training, random: &random, pool: pool)
            s.outputs[l] = current
        }
        return current
    }

    func backward(
        rows: Int, input: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>, scratch: StageScratch
    ) -> UnsafeMutablePointer<Float> {
        let s = scratch.of(Scratch.self)
        var current = gradient
        var (other, spare) = (s.gradients.0.pointer, s.gradients.1.pointer)
        for l in stride(from: layers.count - 1, through: 0, by: -1) {
            backward(
                layer: l, rows: rows, input: l > 0 ? s.outputs[l - 1] : input, gradient: current, gradInput: other,
                gradients: s.layerGradients[l], scratch: s)
            (current, other, spare) = (other, spare, other)
        }
        return current
    }

    /// One layer's backward: `gradient` (∂L/∂output, overwritten by ∂L/∂z) → `gradInput` (∂L/∂a);
    /// `gradients`: ∂W, ∂b, then ∂γ, ∂β with batch norm.
    private func backward(
        layer l: Int, rows: Int, input: UnsafeMutablePointer<Float>, gradient d: UnsafeMutablePointer<Float>,
        gradInput: UnsafeMutablePointer<Float>, gradients: [FloatBuffer], scratch s: Scratch
    ) {
        let layer = layers[l]
        let pool = s.pool
        let count = rows * layer.width
        let (mask, hidden, activation) = (s.dropouts[l].ratio > 0 ? s.dropouts[l].mask.pointer : nil, s.hidden[l].pointer, activation)
        pool.forEachElementBlock(count) { block in
            let at = block.lowerBound
            if let mask { multiply(count: block.count, d + at, by: mask + at) }
            activationBackward(activation, count: block.count, output: hidden + at, grad: d + at)
        }
        if let norm = layer.norm, let normScratch = s.norms[l] {
            norm.backward(
                rows: rows, gradient: d, scratch: normScratch, gradGamma: gradients[2], gradBeta: gradients[3], pool: pool)
        }
        pool.columnSums(rows: rows, width: layer.width, d, into: gradients[1].pointer)
        pool.gemm(
            m: layer.inputWidth, n: layer.width, p: rows, a: input, aRowStride: 1, aColStride: layer.inputWidth,
            b: d, c: gradients[0].pointer, accumulate: false)
        pool.transpose(rows: layer.inputWidth, columns: layer.width, layer.weight.pointer, into: s.transposed.pointer)
        pool.gemm(
            m: rows, n: layer.inputWidth, p: layer.width, a: d, aRowStride: layer.width, aColStride: 1,
            b: s.transposed.pointer, c: gradInput, accumulate: false)
    }
}
