import NFMKernels

/// NFM, FM, LR, Wide&Deep, DeepCross or HOFM: a `LinearTerm` plus interaction terms composed of stages
/// (`ModelArchitecture.swift` says which), each stage owning its parameters and hand-written forward
/// and backward passes.
///
/// - NFM: `ŷ(x) = w₀ + Σᵢ wᵢxᵢ + hᵀ·MLP(BN(f_BI(V, x)))` (He & Chua, SIGIR 2017, eq. 7). FM is the same
///   with no hidden layer and `h` fixed to ones (eq. 1 of the paper, Bi-Interaction form); LR keeps
///   `w₀ + Σᵢ wᵢxᵢ`.
/// - Wide&Deep: `ŷ = w₀ + Σᵢ wᵢxᵢ + hᵀ·MLP(e(x))` with `e(x)` the concatenated field embeddings.
/// - DeepCross: `ŷ = w₀ + hᵀ·R₅(…R₁(e(x)))` with residual units `Rᵤ`.
/// - HOFM: `ŷ = w₀ + Σᵢ wᵢxᵢ + Σ_f f_BI(P, x)_f + Σ_f A³_f(Q, x)` (order-2 embeddings `P` =
///   `embeddings`, order-3 embeddings `Q` = `embeddings3`).
public final class Model: @unchecked Sendable {
    /// The architecture.
    public let config: ModelConfig
    let linearTerm: LinearTerm
    let terms: [InteractionTerm]
    /// Every stage: the linear term, then each term's stages (checkpoint and update order).
    let stages: [any ModelStage]
    /// Dense (non-embedding) trainable tensors, in update order.
    let denseTrainable: [FloatBuffer]
    /// Each stage's sparse parameters (parallel to `stages`).
    let sparseTrainable: [[SparseParameter]]

    /// `w₀`, one value.
    public let bias: FloatBuffer
    /// First-order weights (empty for DeepCross).
    public let linear: FloatBuffer
    /// Row-major `featureCount × factors` (HOFM: the order-2 embeddings `P`; empty for LR).
    public let embeddings: FloatBuffer
    /// HOFM's order-3 embeddings `Q`, `featureCount × factors` (empty for the other models).
    public let embeddings3: FloatBuffer
    /// Batch norm on the Bi-Interaction output (NFM, FM), when the model uses it.
    public let biNorm: BatchNormParameters?
    /// NFM's and Wide&Deep's hidden layers.
    public let layers: [DenseLayer]
    /// DeepCross's residual units.
    public let residuals: [ResidualUnit]
    /// `h`, of width `config.outputWidth` (ones and not trained for FM; empty for LR and HOFM).
    public let prediction: FloatBuffer

    /// A model of `config` with the stages' starting values (call `initialize(seed:)` to draw them).
    /// O(parameters).
    public init(config: ModelConfig) {
        self.config = config
        linearTerm = LinearTerm(featureCount: config.featureCount, hasWeights: config.kind.hasLinearPart)
        terms = Self.terms(of: config)
        stages = [linearTerm] + terms.flatMap(\.stages)
        denseTrainable = stages.flatMap(\.denseTrainable)
        sparseTrainable = stages.map(\.sparseTrainable)
        let tensors = Dictionary(stages.flatMap(\.namedTensors), uniquingKeysWith: { first, _ in first })
        bias = linearTerm.bias
        linear = linearTerm.weights
        embeddings = tensors["embeddings"] ?? FloatBuffer(count: 0)
        embeddings3 = tensors["embeddings3"] ?? FloatBuffer(count: 0)
        prediction = tensors["prediction"] ?? FloatBuffer(count: 0)
        biNorm = stages.lazy.compactMap { ($0 as? BiInteractionStage)?.norm }.first
        layers = stages.lazy.compactMap { ($0 as? DenseStack)?.layers }.first ?? []
        residuals = stages.lazy.compactMap { ($0 as? ResidualStack)?.units }.first ?? []
    }

    /// The authors' initialisation: embeddings N(0, 0.01²), first-order weights and bias 0, hidden
    /// weights and biases and the prediction vector Glorot-normal (std √(2/(fan_in + fan_out))); NFM-0's
    /// and FM's prediction vector starts at ones. One stream of draws, taken by the stages in
    /// `InitializationRank` order.
    public func initialize(seed: UInt64) {
        var random = Xoshiro256(seed: seed, stream: .initialization)
        let ordered = stages.enumerated().sorted {
            ($0.element.initializationRank, $0.offset) < ($1.element.initializationRank, $1.offset)
        }
        for (_, stage) in ordered { stage.initialize(random: &random) }
    }

    /// Every stored tensor by a stable name, in checkpoint order.
    public var namedTensors: [(name: String, buffer: FloatBuffer)] { stages.flatMap(\.namedTensors) }

    /// Number of trainable parameters: every stored tensor but batch-norm moving statistics and FM's
    /// fixed prediction vector.
    public var trainableParameterCount: Int {
        namedTensors.reduce(0) { total, tensor in
            if tensor.name.contains("moving_") || (tensor.name == "prediction" && !config.trainsPrediction) { return total }
            return total + tensor.buffer.count
        }
    }

    /// Copies every tensor of `other`, a model of the same configuration.
    public func copyParameters(from other: Model) {
        for (a, b) in zip(namedTensors, other.namedTensors) { a.buffer.copy(from: b.buffer) }
    }

    /// A copy of the parameters, ready for inference.
    public func clone() -> Model {
        let copy = Model(config: config)
        copy.copyParameters(from: self)
        copy.prepareInference()
        return copy
    }

    /// Folds batch-norm moving statistics into per-column scale and shift. Call after training steps and
    /// before inference.
    public func prepareInference() {
        for stage in stages {
            for norm in stage.batchNorms { norm.prepareInference() }
        }
    }
}

extension Model {
    /// Forward pass over `x` (at most `workspace.capacity` rows); predictions land in
    /// `workspace.predictions`. Training mode uses batch statistics (updating the moving averages) and
    /// draws dropout masks from `random`; inference mode uses `prepareInference()`'s folded statistics.
    public func forward(_ x: SparseRows, workspace ws: Workspace, training: Bool, random: inout Xoshiro256) {
        precondition(x.rowCount <= ws.capacity)
        linearTerm.forward(x, output: ws.output.pointer, pool: ws.pool)
        forwardTerms(x, workspace: ws, training: training, random: &random)
    }

    /// The interaction terms of `forward`, added to `workspace.predictions` (which must hold the linear
    /// term's `w₀ + Σᵢ wᵢxᵢ` already).
    func forwardTerms(_ x: SparseRows, workspace ws: Workspace, training: Bool, random: inout Xoshiro256) {
        guard x.rowCount > 0 else { return }
        for (term, scratch) in zip(terms, ws.terms) {
            term.forward(x, scratch: scratch, training: training, random: &random, output: ws.output.pointer)
        }
    }

    /// Assigns one gradient slot per distinct feature of `x` (grouped by owner thread when `owners` > 1:
    /// `SlotAssignment.assign(_:owners:)`) and clears the sparse gradients.
    func assignSlots(_ x: SparseRows, workspace ws: Workspace, owners: Int = 1) {
        ws.slots.assign(x, owners: owners)
        for scratch in ws.stages { scratch.reserveSparseGradients(slots: ws.slots.count) }
    }

    /// Forgets the slots of `assignSlots`.
    func releaseSlots(workspace ws: Workspace) { ws.slots.release() }

    /// Backward pass after a training-mode `forward` of the same rows, with `∂L/∂ŷ` in
    /// `workspace.gradOutput`. Fills `workspace.denseGradients` and the per-slot sparse gradients
    /// (`assignSlots` must have run for `x`).
    func backward(_ x: SparseRows, workspace ws: Workspace) {
        let g = UnsafePointer(ws.gradOutput.pointer)
        linearTerm.backward(x, gradOutput: g, scratch: ws.linear, slots: ws.slots)
        guard x.rowCount > 0 else { return }
        for (term, scratch) in zip(terms, ws.terms) {
            term.backward(x, gradOutput: g, scratch: scratch, slots: ws.slots)
        }
    }

    /// Each sparse parameter with its per-slot gradient of the last `backward`, in update order, without
    /// allocating (the training step's view; `sparseGradients(in:)` is the array).
    func sparseGradientPairs(in ws: Workspace) -> some Sequence<(SparseParameter, FloatBuffer)> {
        zip(sparseTrainable, ws.stages).lazy.flatMap { parameters, scratch in zip(parameters, scratch.sparseGradients) }
    }

    /// Each sparse parameter with its per-slot gradient of the last `backward`, in update order.
    func sparseGradients(in ws: Workspace) -> [(parameter: SparseParameter, gradient: FloatBuffer)] {
        sparseGradientPairs(in: ws).map { (parameter: $0, gradient: $1) }
    }
}
