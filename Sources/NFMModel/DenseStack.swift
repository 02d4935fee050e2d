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
        /// Ping-pong `∂L/∂input` buffers.
        let gradients: (FloatBuffer, FloatBuffer)
        /// Each layer's `W` packed for the forward products (by every forward pass), and `Wᵀ` (read from
        /// `W`) packed for the backward pass's `∂L/∂a` (by a training-mode forward pass).
        let packedWeights: [FloatBuffer]
        let packedTransposed: [FloatBuffer]
        /// Each layer's `Wᵀ`, row-major, written by the team step (`TeamPlan`) for its `∂L/∂a`.
        let transposed: [FloatBuffer]
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
            packedWeights = layers.map { FloatBuffer(count: PackedOperand.floatCount(rows: $0.inputWidth, columns: $0.width)) }
            packedTransposed = layers.map { FloatBuffer(count: PackedOperand.floatCount(rows: $0.width, columns: $0.inputWidth)) }
            transposed = layers.map { FloatBuffer(count: $0.inputWidth * $0.width) }
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
        random: inout Xoshiro256, pending: RowWork?
    ) -> UnsafeMutablePointer<Float> {
        let s = scratch.of(Scratch.self)
        var current = input
        for l in layers.indices {
            current = forward(
                layer: l, rows: rows, input: current, scratch: s, training: training, random: &random,
                pending: l == 0 ? pending : nil)
            s.outputs[l] = current
        }
        return current
    }

    /// One layer: `pending` (the input stage's last row work) then `aW + b` on each row block (in training,
    /// beside the tasks that write `Wᵀ` for the backward pass), then batch norm; the activation and dropout
    /// run on each row block inside the last row job.
    private func forward(
        layer l: Int, rows: Int, input: UnsafeMutablePointer<Float>, scratch s: Scratch, training: Bool,
        random: inout Xoshiro256, pending: RowWork?
    ) -> UnsafeMutablePointer<Float> {
        let layer = layers[l]
        let (pool, h, dropout, activation) = (s.pool, s.hidden[l].pointer, s.dropouts[l], activation)
        let (n, p, bias) = (layer.width, layer.inputWidth, layer.bias.pointer)
        let active = dropout.prepare(training: training, count: rows * n, random: &random)
        let norm = layer.norm.flatMap { norm in s.norms[l].map { (norm, $0) } }
        let finish = { (block: Range<Int>) in
            activationForward(activation, count: block.count * n, h + block.lowerBound * n)
            if active { dropout.apply((block.lowerBound * n)..<(block.upperBound * n), h) }
        }
        // `W` packed once (`PackedOperand`) for every row block's product; in training, tasks beside the
        // row blocks pack `Wᵀ` (read from `W`) for the backward pass's `∂L/∂a`.
        let (weight, packed) = (layer.weight.pointer, PackedOperand(rows: p, columns: n, storage: s.packedWeights[l].pointer))
        pool.pack(packed, of: weight, rowStride: n, transposed: false)
        let affine = { (block: Range<Int>) in
            pending?(block)
            let hb = h + block.lowerBound * n
            broadcastRow(rows: block.count, width: n, bias, into: hb)
            gemm(
                m: block.count, a: input + block.lowerBound * p, aRowStride: p, aColStride: 1, packed: packed, c: hb,
                cRowStride: n, accumulate: true)
            if norm == nil { finish(block) }
        }
        let cost = 2 * rows * n * p
        if training {
            let transposed = PackedOperand(rows: n, columns: p, storage: s.packedTransposed[l].pointer)
            pool.forEachBlock(.rows(rows), BlockSplit(total: transposed.columnBlocks, grain: 1), cost: cost + p * n, affine) {
                for b in $0 { transposed.pack(columnBlock: b, of: weight, rowStride: n, transposed: true) }
            }
        } else {
            pool.forEachRowBlock(rows, perRow: 2 * n * p, affine)
        }
        if let (norm, normScratch) = norm {
            norm.forward(rows: rows, h, scratch: normScratch, training: training, pool: pool, epilogue: finish)
        }
        return dropout.output(h, active: active)
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
    /// `gradients`: ∂W, ∂b, then ∂γ, ∂β with batch norm. Dropout's mask and the activation's derivative
    /// run inside batch norm's column job for ReLU and the identity (an element job otherwise, whose blocks
    /// keep sigmoid's and tanh's scalar tails where they were); then ∂b (column blocks), ∂W (blocks of its
    /// rows) and ∂a (row blocks) are one job.
    private func backward(
        layer l: Int, rows: Int, input: UnsafeMutablePointer<Float>, gradient d: UnsafeMutablePointer<Float>,
        gradInput: UnsafeMutablePointer<Float>, gradients: [FloatBuffer], scratch s: Scratch
    ) {
        let layer = layers[l]
        let (pool, n, p) = (s.pool, layer.width, layer.inputWidth)
        let (mask, hidden, activation) = (s.dropouts[l].ratio > 0 ? s.dropouts[l].mask.pointer : nil, s.hidden[l].pointer, activation)
        let fusable = activation == .relu || activation == .identity
        if !fusable || layer.norm == nil {
            pool.forEachElementBlock(rows * n) { block in
                let at = block.lowerBound
                if let mask { multiply(count: block.count, d + at, by: mask + at) }
                activationBackward(activation, count: block.count, output: hidden + at, grad: d + at)
            }
        }
        if let norm = layer.norm, let normScratch = s.norms[l] {
            norm.backward(
                rows: rows, gradient: d, scratch: normScratch, gradGamma: gradients[2], gradBeta: gradients[3], pool: pool
            ) { block in
                guard fusable else { return }
                let at = block.lowerBound
                maskedActivationBackward(
                    activation, rows: rows, width: block.count, rowStride: n, mask: mask.map { $0 + at },
                    output: hidden + at, grad: d + at)
            }
        }
        let gradBias = gradients[1].pointer
        let gradWeight = GEMMBlocks(
            m: p, n: n, p: rows, a: input, aRowStride: 1, aColStride: p, b: d, c: gradients[0].pointer, accumulate: false)
        let transposed = PackedOperand(rows: n, columns: p, storage: s.packedTransposed[l].pointer)
        pool.forEachBlock(
            .columns(n), gradWeight.split, .rows(rows), cost: rows * n + gradWeight.cost + 2 * rows * n * p,
            { block in
                columnSums(rows: rows, width: block.count, rowStride: n, d + block.lowerBound, into: gradBias + block.lowerBound)
            }, gradWeight.run,
            { block in
                gemm(
                    m: block.count, a: d + block.lowerBound * n, aRowStride: n, aColStride: 1, packed: transposed,
                    c: gradInput + block.lowerBound * p, cRowStride: p, accumulate: false)
            })
    }
}
