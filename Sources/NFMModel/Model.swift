import NFMKernels

/// Batch-norm parameters and moving statistics of one layer.
public final class BatchNormParameters: @unchecked Sendable {
    public let gamma: FloatBuffer
    public let beta: FloatBuffer
    public let movingMean: FloatBuffer
    public let movingVariance: FloatBuffer
    /// Inference form `y = x·scale + shift`, refreshed by `Model.prepareInference()`.
    let scale: FloatBuffer
    let shift: FloatBuffer

    init(width: Int) {
        gamma = FloatBuffer(count: width, repeating: 1)
        beta = FloatBuffer(count: width)
        movingMean = FloatBuffer(count: width)
        movingVariance = FloatBuffer(count: width, repeating: 1)
        scale = FloatBuffer(count: width, repeating: 1)
        shift = FloatBuffer(count: width)
    }
}

/// One hidden layer: `z = aW + b`, then batch norm, activation and dropout.
public final class DenseLayer: @unchecked Sendable {
    public let inputWidth: Int
    public let width: Int
    /// Row-major `inputWidth × width`.
    public let weight: FloatBuffer
    public let bias: FloatBuffer
    public let norm: BatchNormParameters?

    init(inputWidth: Int, width: Int, batchNorm: Bool) {
        self.inputWidth = inputWidth
        self.width = width
        weight = FloatBuffer(count: inputWidth * width)
        bias = FloatBuffer(count: width)
        norm = batchNorm ? BatchNormParameters(width: width) : nil
    }
}

/// NFM, FM or LR parameters with hand-written forward and backward passes.
///
/// `ŷ(x) = w₀ + Σᵢ wᵢxᵢ + hᵀ·MLP(BN(f_BI(V, x)))` (He & Chua, SIGIR 2017, eq. 7). FM is the same with no
/// hidden layer and `h` fixed to ones (eq. 1 of the paper, Bi-Interaction form); LR keeps `w₀ + Σᵢ wᵢxᵢ`.
public final class Model: @unchecked Sendable {
    public let config: ModelConfig
    public let bias: FloatBuffer
    public let linear: FloatBuffer
    /// Row-major `featureCount × factors`.
    public let embeddings: FloatBuffer
    public let biNorm: BatchNormParameters?
    public let layers: [DenseLayer]
    /// `h`, of width `config.outputWidth` (ones and not trained for FM).
    public let prediction: FloatBuffer

    public init(config: ModelConfig) {
        self.config = config
        let k = config.factors
        bias = FloatBuffer(count: 1)
        linear = FloatBuffer(count: config.featureCount)
        embeddings = FloatBuffer(count: config.featureCount * k)
        biNorm = config.batchNorm && config.kind != .lr ? BatchNormParameters(width: k) : nil
        var layers: [DenseLayer] = []
        var input = k
        for width in config.layers {
            layers.append(DenseLayer(inputWidth: input, width: width, batchNorm: config.batchNorm))
            input = width
        }
        self.layers = layers
        prediction = FloatBuffer(count: config.kind == .lr ? 0 : config.outputWidth, repeating: 1)
    }

    /// The authors' initialisation: embeddings N(0, 0.01²), first-order weights and bias 0, hidden
    /// weights and biases and the prediction vector Glorot-normal (std √(2/(fan_in + fan_out))); NFM-0's
    /// prediction vector starts at ones.
    public func initialize(seed: UInt64) {
        var random = Xoshiro256(seed: seed ^ 0x494E_4954)  // "INIT"
        for i in 0..<embeddings.count { embeddings[i] = Float(0.01 * random.nextNormal()) }
        linear.fill(0)
        bias.fill(0)
        for layer in layers {
            let std = (2.0 / Double(layer.inputWidth + layer.width)).squareRoot()
            for i in 0..<layer.weight.count { layer.weight[i] = Float(std * random.nextNormal()) }
            for i in 0..<layer.bias.count { layer.bias[i] = Float(std * random.nextNormal()) }
        }
        if config.kind == .nfm, let last = config.layers.last {
            let std = (2.0 / Double(last + 1)).squareRoot()
            for i in 0..<prediction.count { prediction[i] = Float(std * random.nextNormal()) }
        } else {
            prediction.fill(1)
        }
    }

    /// Every stored tensor by a stable name, in checkpoint order.
    public var namedTensors: [(name: String, buffer: FloatBuffer)] {
        var out: [(String, FloatBuffer)] = [("bias", bias), ("linear", linear)]
        if config.kind != .lr { out.append(("embeddings", embeddings)) }
        if let biNorm { out += Self.named(biNorm, "bi_norm") }
        for (i, layer) in layers.enumerated() {
            out.append(("layer\(i).weight", layer.weight))
            out.append(("layer\(i).bias", layer.bias))
            if let norm = layer.norm { out += Self.named(norm, "layer\(i).norm") }
        }
        if config.kind != .lr { out.append(("prediction", prediction)) }
        return out
    }

    private static func named(_ norm: BatchNormParameters, _ prefix: String) -> [(String, FloatBuffer)] {
        [
            ("\(prefix).gamma", norm.gamma), ("\(prefix).beta", norm.beta),
            ("\(prefix).moving_mean", norm.movingMean), ("\(prefix).moving_variance", norm.movingVariance),
        ]
    }

    /// Dense (non-embedding) trainable tensors, in update order.
    var denseTrainable: [FloatBuffer] {
        var out = [bias]
        if let biNorm { out += [biNorm.gamma, biNorm.beta] }
        for layer in layers {
            out += [layer.weight, layer.bias]
            if let norm = layer.norm { out += [norm.gamma, norm.beta] }
        }
        if config.trainsPrediction { out.append(prediction) }
        return out
    }

    public func copyParameters(from other: Model) {
        for (a, b) in zip(namedTensors, other.namedTensors) { a.buffer.copy(from: b.buffer) }
    }

    public func clone() -> Model {
        let copy = Model(config: config)
        copy.copyParameters(from: self)
        copy.prepareInference()
        return copy
    }

    /// Folds batch-norm moving statistics into per-column scale and shift. Call after training steps and
    /// before inference.
    public func prepareInference() {
        let epsilon = config.batchNormEpsilon
        for norm in [biNorm].compactMap({ $0 }) + layers.compactMap(\.norm) {
            for j in 0..<norm.gamma.count {
                let scale = norm.gamma[j] / (norm.movingVariance[j] + epsilon).squareRoot()
                norm.scale[j] = scale
                norm.shift[j] = norm.beta[j] - norm.movingMean[j] * scale
            }
        }
    }
}

/// Scratch memory for forward and backward passes over at most `capacity` rows; one per thread.
public final class Workspace: @unchecked Sendable {
    public let capacity: Int
    let output: FloatBuffer
    let gradOutput: FloatBuffer
    // Bi-Interaction stage.
    let sum: FloatBuffer
    let bi: FloatBuffer
    let biNormalized: FloatBuffer
    let biMask: FloatBuffer
    let biDropped: FloatBuffer
    let biStats: [FloatBuffer]  // mean, variance, invStd
    // Hidden layers.
    let hidden: [FloatBuffer]
    let hiddenNormalized: [FloatBuffer]
    let hiddenMask: [FloatBuffer]
    let hiddenDropped: [FloatBuffer]
    let hiddenStats: [[FloatBuffer]]
    // Backward.
    let gradA: FloatBuffer
    let gradB: FloatBuffer
    let transposed: FloatBuffer
    /// Gradients of `Model.denseTrainable`, same order and shapes.
    let denseGradients: [FloatBuffer]
    // Sparse gradients: one slot per distinct feature of the batch.
    var entrySlots: [Int32] = []
    var slotFeature: [Int32] = []
    var slotOf: [Int32]
    var gradEmbeddings: FloatBuffer
    var gradLinear: FloatBuffer
    var slotCount = 0

    public init(model: Model, capacity: Int) {
        let config = model.config
        self.capacity = capacity
        let k = config.factors
        output = FloatBuffer(count: capacity)
        gradOutput = FloatBuffer(count: capacity)
        sum = FloatBuffer(count: capacity * k)
        bi = FloatBuffer(count: capacity * k)
        biNormalized = FloatBuffer(count: config.batchNorm ? capacity * k : 0)
        biMask = FloatBuffer(count: capacity * k)
        biDropped = FloatBuffer(count: capacity * k)
        biStats = (0..<3).map { _ in FloatBuffer(count: k) }
        hidden = config.layers.map { FloatBuffer(count: capacity * $0) }
        hiddenNormalized = config.layers.map { FloatBuffer(count: config.batchNorm ? capacity * $0 : 0) }
        hiddenMask = config.layers.map { FloatBuffer(count: capacity * $0) }
        hiddenDropped = config.layers.map { FloatBuffer(count: capacity * $0) }
        hiddenStats = config.layers.map { w in (0..<3).map { _ in FloatBuffer(count: w) } }
        let widest = ([k] + config.layers).max() ?? 1
        gradA = FloatBuffer(count: capacity * widest)
        gradB = FloatBuffer(count: capacity * widest)
        transposed = FloatBuffer(count: widest * widest)
        denseGradients = model.denseTrainable.map { FloatBuffer(count: $0.count) }
        slotOf = [Int32](repeating: -1, count: config.featureCount)
        gradEmbeddings = FloatBuffer(count: 0)
        gradLinear = FloatBuffer(count: 0)
    }

    /// Predictions of the last forward pass.
    public var predictions: UnsafeMutablePointer<Float> { output.pointer }
}

extension Model {
    /// Forward pass over `x` (at most `workspace.capacity` rows); predictions land in
    /// `workspace.predictions`. Training mode uses batch statistics (updating the moving averages) and
    /// draws dropout masks from `random`; inference mode uses `prepareInference()`'s folded statistics.
    public func forward(_ x: SparseRows, workspace ws: Workspace, training: Bool, random: inout Xoshiro256) {
        let rows = x.rowCount
        precondition(rows <= ws.capacity)
        linearForward(x, weights: linear.pointer, bias: bias[0], out: ws.output.pointer)
        guard config.kind != .lr, rows > 0 else { return }
        let k = config.factors
        biInteractionForward(x, factors: k, embeddings: embeddings.pointer, sum: ws.sum.pointer, interaction: ws.bi.pointer)
        var current = ws.bi.pointer
        if let biNorm {
            normalize(rows: rows, width: k, current, norm: biNorm, normalized: ws.biNormalized, stats: ws.biStats, training: training)
        }
        if training && config.biDropout > 0 {
            dropoutMask(count: rows * k, keep: 1 - config.biDropout, into: ws.biMask.pointer, random: &random)
            ws.biDropped.pointer.update(from: current, count: rows * k)
            multiply(count: rows * k, ws.biDropped.pointer, by: ws.biMask.pointer)
            current = ws.biDropped.pointer
        }
        var width = k
        for (l, layer) in layers.enumerated() {
            let h = ws.hidden[l].pointer
            for r in 0..<rows { (h + r * layer.width).update(from: layer.bias.pointer, count: layer.width) }
            gemm(
                m: rows, n: layer.width, p: width, a: current, aRowStride: width, aColStride: 1,
                b: layer.weight.pointer, c: h, accumulate: true)
            if let norm = layer.norm {
                normalize(
                    rows: rows, width: layer.width, h, norm: norm, normalized: ws.hiddenNormalized[l],
                    stats: ws.hiddenStats[l], training: training)
            }
            activationForward(config.activation.kernel, count: rows * layer.width, h)
            current = h
            if training && config.hiddenDropout[l] > 0 {
                let dropped = ws.hiddenDropped[l].pointer
                dropoutMask(count: rows * layer.width, keep: 1 - config.hiddenDropout[l], into: ws.hiddenMask[l].pointer, random: &random)
                dropped.update(from: h, count: rows * layer.width)
                multiply(count: rows * layer.width, dropped, by: ws.hiddenMask[l].pointer)
                current = dropped
            }
            width = layer.width
        }
        addRowDots(rows: rows, width: width, current, prediction.pointer, into: ws.output.pointer)
    }

    private func normalize(
        rows: Int, width: Int, _ x: UnsafeMutablePointer<Float>, norm: BatchNormParameters, normalized: FloatBuffer,
        stats: [FloatBuffer], training: Bool
    ) {
        if training {
            batchNormForwardTraining(
                rows: rows, width: width, x, gamma: norm.gamma.pointer, beta: norm.beta.pointer,
                epsilon: config.batchNormEpsilon, normalized: normalized.pointer, mean: stats[0].pointer,
                variance: stats[1].pointer, invStd: stats[2].pointer)
            let decay = config.batchNormDecay
            for j in 0..<width {
                norm.movingMean[j] = decay * norm.movingMean[j] + (1 - decay) * stats[0][j]
                norm.movingVariance[j] = decay * norm.movingVariance[j] + (1 - decay) * stats[1][j]
            }
        } else {
            scaleShiftColumns(rows: rows, width: width, x, scale: norm.scale.pointer, shift: norm.shift.pointer)
        }
    }

    /// Assigns one gradient slot per distinct feature of `x` and clears the sparse gradients.
    func assignSlots(_ x: SparseRows, workspace ws: Workspace) {
        let entries = x.entryCount
        let first = x.firstEntry
        if ws.entrySlots.count < entries { ws.entrySlots = [Int32](repeating: 0, count: entries) }
        if ws.slotFeature.count < entries { ws.slotFeature = [Int32](repeating: 0, count: entries) }
        var slots = 0
        ws.slotOf.withUnsafeMutableBufferPointer { slotOf in
            ws.entrySlots.withUnsafeMutableBufferPointer { entrySlots in
                ws.slotFeature.withUnsafeMutableBufferPointer { slotFeature in
                    for e in 0..<entries {
                        let feature = Int(x.indices[first + e])
                        var slot = slotOf[feature]
                        if slot < 0 {
                            slot = Int32(slots)
                            slotOf[feature] = slot
                            slotFeature[slots] = Int32(feature)
                            slots += 1
                        }
                        entrySlots[e] = slot
                    }
                }
            }
        }
        ws.slotCount = slots
        let k = config.factors
        if ws.gradLinear.count < slots {
            ws.gradLinear = FloatBuffer(count: max(slots, 2 * ws.gradLinear.count))
            ws.gradEmbeddings = FloatBuffer(count: ws.gradLinear.count * k)
        }
        ws.gradLinear.pointer.update(repeating: 0, count: slots)
        ws.gradEmbeddings.pointer.update(repeating: 0, count: slots * k)
    }

    func releaseSlots(workspace ws: Workspace) {
        for s in 0..<ws.slotCount { ws.slotOf[Int(ws.slotFeature[s])] = -1 }
        ws.slotCount = 0
    }

    /// Backward pass after a training-mode `forward` of the same rows, with `∂L/∂ŷ` in
    /// `workspace.gradOutput`. Fills `workspace.denseGradients` and the per-slot sparse gradients
    /// (`assignSlots` must have run for `x`).
    func backward(_ x: SparseRows, workspace ws: Workspace) {
        let rows = x.rowCount
        let g = ws.gradOutput.pointer
        var dense = ws.denseGradients.makeIterator()
        let gradBias = dense.next()!
        var total: Float = 0
        for r in 0..<rows { total += g[r] }
        gradBias[0] = total
        ws.entrySlots.withUnsafeBufferPointer { slots in
            linearBackward(x, gradOutput: g, entrySlots: slots.baseAddress!, gradWeights: ws.gradLinear.pointer)
        }
        guard config.kind != .lr, rows > 0 else { return }
        let k = config.factors
        // Dense gradients are laid out in `denseTrainable` order: bias, BI norm, layers, prediction.
        let biNormGrads = biNorm != nil ? (dense.next()!, dense.next()!) : nil
        var layerGrads: [(weight: FloatBuffer, bias: FloatBuffer, norm: (FloatBuffer, FloatBuffer)?)] = []
        for layer in layers {
            let w = dense.next()!
            let b = dense.next()!
            layerGrads.append((w, b, layer.norm != nil ? (dense.next()!, dense.next()!) : nil))
        }
        let gradPrediction = config.trainsPrediction ? dense.next()! : ws.transposed

        // The stage outputs seen by the next stage, as in `forward`.
        func stageOutput(_ l: Int) -> UnsafeMutablePointer<Float> {
            if l < 0 {
                return config.biDropout > 0 ? ws.biDropped.pointer : ws.bi.pointer
            }
            return config.hiddenDropout[l] > 0 ? ws.hiddenDropped[l].pointer : ws.hidden[l].pointer
        }
        var gradCurrent = ws.gradA
        var gradOther = ws.gradB
        let lastWidth = config.outputWidth
        rowDotsBackward(
            rows: rows, width: lastWidth, stageOutput(layers.count - 1), prediction.pointer, grad: g,
            gradH: gradPrediction.pointer, gradA: gradCurrent.pointer)
        for l in stride(from: layers.count - 1, through: 0, by: -1) {
            let layer = layers[l]
            let count = rows * layer.width
            let d = gradCurrent.pointer
            if config.hiddenDropout[l] > 0 { multiply(count: count, d, by: ws.hiddenMask[l].pointer) }
            activationBackward(config.activation.kernel, count: count, output: ws.hidden[l].pointer, grad: d)
            if let norm = layer.norm, let grads = layerGrads[l].norm {
                batchNormBackward(
                    rows: rows, width: layer.width, grad: d, normalized: ws.hiddenNormalized[l].pointer,
                    gamma: norm.gamma.pointer, invStd: ws.hiddenStats[l][2].pointer,
                    gradGamma: grads.0.pointer, gradBeta: grads.1.pointer)
            }
            columnSums(rows: rows, width: layer.width, d, into: layerGrads[l].bias.pointer)
            let input = stageOutput(l - 1)
            gemm(
                m: layer.inputWidth, n: layer.width, p: rows, a: input, aRowStride: 1, aColStride: layer.inputWidth,
                b: d, c: layerGrads[l].weight.pointer, accumulate: false)
            transpose(rows: layer.inputWidth, columns: layer.width, layer.weight.pointer, into: ws.transposed.pointer)
            gemm(
                m: rows, n: layer.inputWidth, p: layer.width, a: d, aRowStride: layer.width, aColStride: 1,
                b: ws.transposed.pointer, c: gradOther.pointer, accumulate: false)
            swap(&gradCurrent, &gradOther)
        }
        let d = gradCurrent.pointer
        if config.biDropout > 0 { multiply(count: rows * k, d, by: ws.biMask.pointer) }
        if let biNorm, let grads = biNormGrads {
            batchNormBackward(
                rows: rows, width: k, grad: d, normalized: ws.biNormalized.pointer, gamma: biNorm.gamma.pointer,
                invStd: ws.biStats[2].pointer, gradGamma: grads.0.pointer, gradBeta: grads.1.pointer)
        }
        ws.entrySlots.withUnsafeBufferPointer { slots in
            biInteractionBackward(
                x, factors: k, embeddings: embeddings.pointer, sum: ws.sum.pointer, gradInteraction: d,
                entrySlots: slots.baseAddress!, gradEmbeddings: ws.gradEmbeddings.pointer)
        }
    }
}
