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

/// A DeepCross residual unit `y = act(x + act(x·W₁ + b₁)·W₂ + b₂)` of width `width` and inner width `hidden`.
public final class ResidualUnit: @unchecked Sendable {
    public let width: Int
    public let hidden: Int
    /// Row-major `width × hidden`.
    public let weight1: FloatBuffer
    public let bias1: FloatBuffer
    /// Row-major `hidden × width`.
    public let weight2: FloatBuffer
    public let bias2: FloatBuffer

    init(width: Int, hidden: Int) {
        self.width = width
        self.hidden = hidden
        weight1 = FloatBuffer(count: width * hidden)
        bias1 = FloatBuffer(count: hidden)
        weight2 = FloatBuffer(count: hidden * width)
        bias2 = FloatBuffer(count: width)
    }
}

/// NFM, FM, LR, Wide&Deep, DeepCross or HOFM parameters with hand-written forward and backward passes.
///
/// - NFM: `ŷ(x) = w₀ + Σᵢ wᵢxᵢ + hᵀ·MLP(BN(f_BI(V, x)))` (He & Chua, SIGIR 2017, eq. 7). FM is the same
///   with no hidden layer and `h` fixed to ones (eq. 1 of the paper, Bi-Interaction form); LR keeps
///   `w₀ + Σᵢ wᵢxᵢ`.
/// - Wide&Deep: `ŷ = w₀ + Σᵢ wᵢxᵢ + hᵀ·MLP(e(x))` with `e(x)` the concatenated field embeddings.
/// - DeepCross: `ŷ = w₀ + hᵀ·R₅(…R₁(e(x)))` with residual units `Rᵤ`.
/// - HOFM: `ŷ = w₀ + Σᵢ wᵢxᵢ + Σ_f f_BI(P, x)_f + Σ_f A³_f(Q, x)` (order-2 embeddings `P` =
///   `embeddings`, order-3 embeddings `Q` = `embeddings3`).
public final class Model: @unchecked Sendable {
    public let config: ModelConfig
    public let bias: FloatBuffer
    /// First-order weights (empty for DeepCross).
    public let linear: FloatBuffer
    /// Row-major `featureCount × factors` (HOFM: the order-2 embeddings `P`).
    public let embeddings: FloatBuffer
    /// HOFM's order-3 embeddings `Q`, `featureCount × factors` (empty for the other models).
    public let embeddings3: FloatBuffer
    public let biNorm: BatchNormParameters?
    /// NFM's and Wide&Deep's hidden layers.
    public let layers: [DenseLayer]
    /// DeepCross's residual units.
    public let residuals: [ResidualUnit]
    /// `h`, of width `config.outputWidth` (ones and not trained for FM; empty for LR and HOFM).
    public let prediction: FloatBuffer
    /// Field of each feature (Wide&Deep, DeepCross).
    let fieldOf: [Int32]

    public init(config: ModelConfig) {
        self.config = config
        let k = config.factors
        let kind = config.kind
        bias = FloatBuffer(count: 1)
        linear = FloatBuffer(count: kind.hasLinearPart ? config.featureCount : 0)
        embeddings = FloatBuffer(count: config.featureCount * k)
        embeddings3 = FloatBuffer(count: kind == .hofm ? config.featureCount * k : 0)
        biNorm = config.batchNorm && (kind == .nfm || kind == .fm) ? BatchNormParameters(width: k) : nil
        var layers: [DenseLayer] = []
        var residuals: [ResidualUnit] = []
        switch kind {
        case .nfm, .wideDeep:
            var input = kind == .nfm ? k : config.concatWidth
            for width in config.layers {
                layers.append(DenseLayer(inputWidth: input, width: width, batchNorm: config.batchNorm))
                input = width
            }
        case .deepCross:
            residuals = config.layers.map { ResidualUnit(width: config.concatWidth, hidden: $0) }
        case .fm, .lr, .hofm:
            break
        }
        self.layers = layers
        self.residuals = residuals
        prediction = FloatBuffer(count: kind == .lr || kind == .hofm ? 0 : config.outputWidth, repeating: 1)
        var fieldOf = [Int32](repeating: 0, count: kind.concatenatesFields ? config.featureCount : 0)
        if kind.concatenatesFields, let sizes = config.fieldSizes {
            var feature = 0
            for (f, size) in sizes.enumerated() {
                for _ in 0..<size where feature < fieldOf.count {
                    fieldOf[feature] = Int32(f)
                    feature += 1
                }
            }
        }
        self.fieldOf = fieldOf
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
        } else if config.kind.concatenatesFields {
            let std = (2.0 / Double(config.outputWidth + 1)).squareRoot()
            for i in 0..<prediction.count { prediction[i] = Float(std * random.nextNormal()) }
        } else {
            prediction.fill(1)
        }
        // Drawn after the NFM/FM/LR parameters, so that their initialisation is unchanged.
        for i in 0..<embeddings3.count { embeddings3[i] = Float(0.01 * random.nextNormal()) }
        for unit in residuals {
            let std = (2.0 / Double(unit.width + unit.hidden)).squareRoot()
            for buffer in [unit.weight1, unit.bias1, unit.weight2, unit.bias2] {
                for i in 0..<buffer.count { buffer[i] = Float(std * random.nextNormal()) }
            }
        }
    }

    /// Every stored tensor by a stable name, in checkpoint order.
    public var namedTensors: [(name: String, buffer: FloatBuffer)] {
        var out: [(String, FloatBuffer)] = [("bias", bias)]
        if config.kind.hasLinearPart { out.append(("linear", linear)) }
        if config.kind != .lr { out.append(("embeddings", embeddings)) }
        if config.kind == .hofm { out.append(("embeddings3", embeddings3)) }
        if let biNorm { out += Self.named(biNorm, "bi_norm") }
        for (i, layer) in layers.enumerated() {
            out.append(("layer\(i).weight", layer.weight))
            out.append(("layer\(i).bias", layer.bias))
            if let norm = layer.norm { out += Self.named(norm, "layer\(i).norm") }
        }
        for (i, unit) in residuals.enumerated() {
            out.append(("residual\(i).weight1", unit.weight1))
            out.append(("residual\(i).bias1", unit.bias1))
            out.append(("residual\(i).weight2", unit.weight2))
            out.append(("residual\(i).bias2", unit.bias2))
        }
        if config.kind != .lr && config.kind != .hofm { out.append(("prediction", prediction)) }
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
        for unit in residuals { out += [unit.weight1, unit.bias1, unit.weight2, unit.bias2] }
        if config.trainsPrediction { out.append(prediction) }
        return out
    }

    /// Number of trainable parameters: every stored tensor but batch-norm moving statistics and FM's
    /// fixed prediction vector.
    public var trainableParameterCount: Int {
        namedTensors.reduce(0) { total, tensor in
            if tensor.name.contains("moving_") || (tensor.name == "prediction" && !config.trainsPrediction) { return total }
            return total + tensor.buffer.count
        }
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
    // Bi-Interaction stage (NFM, FM; HOFM's order-2 term).
    let sum: FloatBuffer
    let bi: FloatBuffer
    let biNormalized: FloatBuffer
    let biMask: FloatBuffer
    let biDropped: FloatBuffer
    let biStats: [FloatBuffer]  // mean, variance, invStd
    // Concatenated field embeddings (Wide&Deep, DeepCross).
    let concat: FloatBuffer
    let concatMask: FloatBuffer
    let concatDropped: FloatBuffer
    // Hidden layers (NFM, Wide&Deep).
    let hidden: [FloatBuffer]
    let hiddenNormalized: [FloatBuffer]
    let hiddenMask: [FloatBuffer]
    let hiddenDropped: [FloatBuffer]
    let hiddenStats: [[FloatBuffer]]
    // Residual units (DeepCross): inner activations and outputs (both after the activation).
    let residualInner: [FloatBuffer]
    let residualOutput: [FloatBuffer]
    let residualMask: [FloatBuffer]
    let residualDropped: [FloatBuffer]
    // HOFM's order-3 ANOVA kernel: power sums s₁, s₂, the kernel and its dropout mask.
    let anovaSum: FloatBuffer
    let anovaSumSquares: FloatBuffer
    let anova: FloatBuffer
    let anovaMask: FloatBuffer
    // Backward.
    let gradA: FloatBuffer
    let gradB: FloatBuffer
    let gradC: FloatBuffer
    let transposed: FloatBuffer
    /// Gradients of `Model.denseTrainable`, same order and shapes.
    let denseGradients: [FloatBuffer]
    // Sparse gradients: one slot per distinct feature of the batch.
    var entrySlots: [Int32] = []
    var slotFeature: [Int32] = []
    var slotOf: [Int32]
    var gradEmbeddings: FloatBuffer
    var gradEmbeddings3: FloatBuffer
    var gradLinear: FloatBuffer
    var slotCount = 0

    public init(model: Model, capacity: Int) {
        let config = model.config
        self.capacity = capacity
        let k = config.factors
        let kind = config.kind
        output = FloatBuffer(count: capacity)
        gradOutput = FloatBuffer(count: capacity)
        let pooled = kind == .nfm || kind == .fm || kind == .hofm
        sum = FloatBuffer(count: pooled ? capacity * k : 0)
        bi = FloatBuffer(count: pooled ? capacity * k : 0)
        biNormalized = FloatBuffer(count: model.biNorm != nil ? capacity * k : 0)
        biMask = FloatBuffer(count: pooled ? capacity * k : 0)
        biDropped = FloatBuffer(count: pooled ? capacity * k : 0)
        biStats = (0..<3).map { _ in FloatBuffer(count: k) }
        let d = config.concatWidth
        concat = FloatBuffer(count: capacity * d)
        concatMask = FloatBuffer(count: config.biDropout > 0 ? capacity * d : 0)
        concatDropped = FloatBuffer(count: config.biDropout > 0 ? capacity * d : 0)
        let dense = model.layers.map(\.width)
        hidden = dense.map { FloatBuffer(count: capacity * $0) }
        hiddenNormalized = model.layers.map { FloatBuffer(count: $0.norm != nil ? capacity * $0.width : 0) }
        hiddenMask = dense.map { FloatBuffer(count: capacity * $0) }
        hiddenDropped = dense.map { FloatBuffer(count: capacity * $0) }
        hiddenStats = dense.map { w in (0..<3).map { _ in FloatBuffer(count: w) } }
        residualInner = model.residuals.map { FloatBuffer(count: capacity * $0.hidden) }
        residualOutput = model.residuals.map { FloatBuffer(count: capacity * $0.width) }
        residualMask = model.residuals.indices.map { FloatBuffer(count: config.hiddenDropout[$0] > 0 ? capacity * d : 0) }
        residualDropped = model.residuals.indices.map { FloatBuffer(count: config.hiddenDropout[$0] > 0 ? capacity * d : 0) }
        let order3 = kind == .hofm ? capacity * k : 0
        anovaSum = FloatBuffer(count: order3)
        anovaSumSquares = FloatBuffer(count: order3)
        anova = FloatBuffer(count: order3)
        anovaMask = FloatBuffer(count: order3)
        let widest = ([k, d] + config.layers).max() ?? 1
        gradA = FloatBuffer(count: capacity * widest)
        gradB = FloatBuffer(count: capacity * widest)
        gradC = FloatBuffer(count: model.residuals.isEmpty ? 0 : capacity * widest)
        let products = [k * k] + model.layers.map { $0.inputWidth * $0.width } + model.residuals.map { $0.width * $0.hidden }
        transposed = FloatBuffer(count: max(products.max() ?? 1, k))
        denseGradients = model.denseTrainable.map { FloatBuffer(count: $0.count) }
        slotOf = [Int32](repeating: -1, count: config.featureCount)
        gradEmbeddings = FloatBuffer(count: 0)
        gradEmbeddings3 = FloatBuffer(count: 0)
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
        if config.kind.hasLinearPart {
            linearForward(x, weights: linear.pointer, bias: bias[0], out: ws.output.pointer)
        } else {
            ws.output.pointer.update(repeating: bias[0], count: rows)
        }
        guard config.kind != .lr, rows > 0 else { return }
        let k = config.factors
        switch config.kind {
        case .lr:
            return
        case .nfm, .fm:
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
            let (top, width) = denseStackForward(rows: rows, input: current, width: k, workspace: ws, training: training, random: &random)
            addRowDots(rows: rows, width: width, top, prediction.pointer, into: ws.output.pointer)
        case .wideDeep:
            let current = concatForward(x, workspace: ws, training: training, random: &random)
            let (top, width) = denseStackForward(
                rows: rows, input: current, width: config.concatWidth, workspace: ws, training: training, random: &random)
            addRowDots(rows: rows, width: width, top, prediction.pointer, into: ws.output.pointer)
        case .deepCross:
            var current = UnsafePointer(concatForward(x, workspace: ws, training: training, random: &random))
            let d = config.concatWidth
            for (u, unit) in residuals.enumerated() {
                let out = ws.residualOutput[u].pointer
                residualUnitForward(
                    rows: rows, width: d, hidden: unit.hidden, input: current, w1: unit.weight1.pointer,
                    b1: unit.bias1.pointer, w2: unit.weight2.pointer, b2: unit.bias2.pointer,
                    activation: config.activation.kernel, inner: ws.residualInner[u].pointer, output: out)
                current = UnsafePointer(out)
                if training && config.hiddenDropout[u] > 0 {
                    let dropped = ws.residualDropped[u].pointer
                    dropoutMask(count: rows * d, keep: 1 - config.hiddenDropout[u], into: ws.residualMask[u].pointer, random: &random)
                    dropped.update(from: out, count: rows * d)
                    multiply(count: rows * d, dropped, by: ws.residualMask[u].pointer)
                    current = UnsafePointer(dropped)
                }
            }
            addRowDots(rows: rows, width: d, current, prediction.pointer, into: ws.output.pointer)
        case .hofm:
            biInteractionForward(x, factors: k, embeddings: embeddings.pointer, sum: ws.sum.pointer, interaction: ws.bi.pointer)
            anova3Forward(
                x, factors: k, embeddings: embeddings3.pointer, sum: ws.anovaSum.pointer,
                sumSquares: ws.anovaSumSquares.pointer, kernel: ws.anova.pointer)
            let dropout = training && config.biDropout > 0
            if dropout {
                dropoutMask(count: rows * k, keep: 1 - config.biDropout, into: ws.biMask.pointer, random: &random)
                dropoutMask(count: rows * k, keep: 1 - config.biDropout, into: ws.anovaMask.pointer, random: &random)
            }
            addRowSums(rows: rows, width: k, ws.bi.pointer, mask: dropout ? ws.biMask.pointer : nil, into: ws.output.pointer)
            addRowSums(rows: rows, width: k, ws.anova.pointer, mask: dropout ? ws.anovaMask.pointer : nil, into: ws.output.pointer)
        }
    }

    /// Gathers the concatenated field embeddings into `ws.concat` and applies input dropout; returns
    /// the stage's output.
    private func concatForward(
        _ x: SparseRows, workspace ws: Workspace, training: Bool, random: inout Xoshiro256
    ) -> UnsafeMutablePointer<Float> {
        let rows = x.rowCount
        let d = config.concatWidth
        fieldOf.withUnsafeBufferPointer { fieldOf in
            fieldConcatForward(
                x, factors: config.factors, fieldCount: config.fieldCount, fieldOf: fieldOf.baseAddress!,
                embeddings: embeddings.pointer, out: ws.concat.pointer)
        }
        guard training && config.biDropout > 0 else { return ws.concat.pointer }
        dropoutMask(count: rows * d, keep: 1 - config.biDropout, into: ws.concatMask.pointer, random: &random)
        ws.concatDropped.pointer.update(from: ws.concat.pointer, count: rows * d)
        multiply(count: rows * d, ws.concatDropped.pointer, by: ws.concatMask.pointer)
        return ws.concatDropped.pointer
    }

    /// NFM's and Wide&Deep's hidden layers, each `dropout(activation(BN(a·W + b)))`; returns the last
    /// stage's output and width.
    private func denseStackForward(
        rows: Int, input: UnsafeMutablePointer<Float>, width inputWidth: Int, workspace ws: Workspace, training: Bool,
        random: inout Xoshiro256
    ) -> (UnsafeMutablePointer<Float>, Int) {
        var current = input
        var width = inputWidth
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
        return (current, width)
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
            if config.kind == .hofm { ws.gradEmbeddings3 = FloatBuffer(count: ws.gradLinear.count * k) }
        }
        ws.gradLinear.pointer.update(repeating: 0, count: slots)
        ws.gradEmbeddings.pointer.update(repeating: 0, count: slots * k)
        if config.kind == .hofm { ws.gradEmbeddings3.pointer.update(repeating: 0, count: slots * k) }
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
        if config.kind.hasLinearPart {
            ws.entrySlots.withUnsafeBufferPointer { slots in
                linearBackward(x, gradOutput: g, entrySlots: slots.baseAddress!, gradWeights: ws.gradLinear.pointer)
            }
        }
        guard config.kind != .lr, rows > 0 else { return }
        let k = config.factors
        // Dense gradients are laid out in `denseTrainable` order: bias, BI norm, layers, residual units,
        // prediction.
        let biNormGrads = biNorm != nil ? (dense.next()!, dense.next()!) : nil
        var layerGrads: [(weight: FloatBuffer, bias: FloatBuffer, norm: (FloatBuffer, FloatBuffer)?)] = []
        for layer in layers {
            let w = dense.next()!
            let b = dense.next()!
            layerGrads.append((w, b, layer.norm != nil ? (dense.next()!, dense.next()!) : nil))
        }
        let residualGrads = residuals.map { _ in (dense.next()!, dense.next()!, dense.next()!, dense.next()!) }
        let gradPrediction = config.trainsPrediction ? dense.next()! : ws.transposed

        switch config.kind {
        case .lr:
            return
        case .hofm:
            let dropout = config.biDropout > 0
            rowSumsBackward(rows: rows, width: k, grad: g, mask: dropout ? ws.biMask.pointer : nil, into: ws.gradA.pointer)
            rowSumsBackward(rows: rows, width: k, grad: g, mask: dropout ? ws.anovaMask.pointer : nil, into: ws.gradB.pointer)
            ws.entrySlots.withUnsafeBufferPointer { slots in
                biInteractionBackward(
                    x, factors: k, embeddings: embeddings.pointer, sum: ws.sum.pointer, gradInteraction: ws.gradA.pointer,
                    entrySlots: slots.baseAddress!, gradEmbeddings: ws.gradEmbeddings.pointer)
                anova3Backward(
                    x, factors: k, embeddings: embeddings3.pointer, sum: ws.anovaSum.pointer,
                    sumSquares: ws.anovaSumSquares.pointer, gradKernel: ws.gradB.pointer, entrySlots: slots.baseAddress!,
                    gradEmbeddings: ws.gradEmbeddings3.pointer)
            }
            return
        case .deepCross:
            let d = config.concatWidth
            // The stage outputs seen by the next stage, as in `forward` (-1: the concatenated embeddings).
            func stageOutput(_ u: Int) -> UnsafeMutablePointer<Float> {
                if u < 0 { return config.biDropout > 0 ? ws.concatDropped.pointer : ws.concat.pointer }
                return config.hiddenDropout[u] > 0 ? ws.residualDropped[u].pointer : ws.residualOutput[u].pointer
            }
            var gradCurrent = ws.gradA
            var gradOther = ws.gradB
            rowDotsBackward(
                rows: rows, width: d, stageOutput(residuals.count - 1), prediction.pointer, grad: g,
                gradH: gradPrediction.pointer, gradA: gradCurrent.pointer)
            for u in stride(from: residuals.count - 1, through: 0, by: -1) {
                let unit = residuals[u]
                if config.hiddenDropout[u] > 0 { multiply(count: rows * d, gradCurrent.pointer, by: ws.residualMask[u].pointer) }
                let grads = residualGrads[u]
                residualUnitBackward(
                    rows: rows, width: d, hidden: unit.hidden, input: stageOutput(u - 1), w1: unit.weight1.pointer,
                    w2: unit.weight2.pointer, activation: config.activation.kernel, inner: ws.residualInner[u].pointer,
                    output: ws.residualOutput[u].pointer, grad: gradCurrent.pointer, gradInner: ws.gradC.pointer,
                    gradInput: gradOther.pointer, gradW1: grads.0.pointer, gradB1: grads.1.pointer,
                    gradW2: grads.2.pointer, gradB2: grads.3.pointer, transposed: ws.transposed.pointer)
                swap(&gradCurrent, &gradOther)
            }
            concatBackward(x, gradient: gradCurrent.pointer, workspace: ws)
            return
        case .nfm, .fm, .wideDeep:
            break
        }

        // NFM, FM and Wide&Deep: the dense stack, then the pooling or concatenation stage.
        let inputWidth = config.kind == .wideDeep ? config.concatWidth : k
        // The stage outputs seen by the next stage, as in `forward`.
        func stageOutput(_ l: Int) -> UnsafeMutablePointer<Float> {
            if l < 0 {
                if config.kind == .wideDeep {
                    return config.biDropout > 0 ? ws.concatDropped.pointer : ws.concat.pointer
                }
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
        if config.kind == .wideDeep {
            concatBackward(x, gradient: d, workspace: ws)
            return
        }
        if config.biDropout > 0 { multiply(count: rows * inputWidth, d, by: ws.biMask.pointer) }
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

    /// Backward of `concatForward`: input dropout, then the scatter into the batch's embedding slots.
    private func concatBackward(_ x: SparseRows, gradient d: UnsafeMutablePointer<Float>, workspace ws: Workspace) {
        if config.biDropout > 0 { multiply(count: x.rowCount * config.concatWidth, d, by: ws.concatMask.pointer) }
        fieldOf.withUnsafeBufferPointer { fieldOf in
            ws.entrySlots.withUnsafeBufferPointer { slots in
                fieldConcatBackward(
                    x, factors: config.factors, fieldCount: config.fieldCount, fieldOf: fieldOf.baseAddress!,
                    gradConcat: d, entrySlots: slots.baseAddress!, gradEmbeddings: ws.gradEmbeddings.pointer)
            }
        }
    }
}
