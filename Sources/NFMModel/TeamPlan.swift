import NFMKernels

/// What one team step (`Model.teamTrainStep`) does to an NFM/FM term, as the pointers of the step's
/// buffers (gathered on the calling thread before the team starts) and the per-thread passes over a
/// share of the rows. Each pass repeats, on its rows, the arithmetic of the stages' pool passes
/// (`BiInteractionStage`, `DenseStack`, `BatchNormParameters`, `PredictionVector`), so the bits are theirs.
struct TeamPlan {
    let input: InputPart
    /// The hidden layers, in memory owned by `storage` (a buffer, not an array: the threads read it without
    /// reference counting).
    let layers: UnsafeMutableBufferPointer<LayerPart>
    let head: HeadPart

    /// The plan of `term` over `scratch`, its layers in `storage`.
    init(term: TeamTerm, scratch: InteractionTerm.Scratch, storage: TeamPlanStorage) {
        let bi = scratch.input.of(BiInteractionStage.Scratch.self)
        var input = InputPart(stage: term.input, scratch: bi)
        let layers = storage.layers
        var activation = input.output
        if let dense = term.hidden, let hidden = scratch.hidden?.of(DenseStack.Scratch.self) {
            for l in dense.layers.indices {
                layers[l] = LayerPart(stack: dense, layer: l, scratch: hidden, input: activation)
                activation = layers[l].output
            }
        }
        head = HeadPart(stage: term.head, scratch: scratch.head.of(PredictionVector.Scratch.self), input: activation)
        // Backward buffers as `DenseStack.backward` passes them: ∂L/∂output of the last layer is the head's
        // `∂a`; each layer writes its `∂a` into the other of two ping-pong buffers.
        var current = head.gradInput
        if let hidden = scratch.hidden?.of(DenseStack.Scratch.self) {
            var (other, spare) = (hidden.gradients.0.pointer, hidden.gradients.1.pointer)
            for l in layers.indices.reversed() {
                layers[l].gradient = current
                layers[l].gradInput = other
                (current, other, spare) = (other, spare, other)
            }
        }
        input.gradient = current
        self.input = input
        self.layers = layers
    }

    /// The forward pass over `rows` (this thread's share of the `x.rowCount` rows): Bi-Interaction, the
    /// hidden layers, the head (adding to `output`). Batch-norm statistics are relays; everything else is
    /// row-wise.
    func forward(_ x: SparseRows, rows share: Range<Int>, member: inout TeamMember, output: UnsafeMutablePointer<Float>) {
        let rows = x.rowCount
        // Thread 0 drew the masks: the first relay orders them before any other thread's use; without
        // batch norm on the pooled vector, a barrier does.
        if input.norm == nil && (input.mask != nil || layers.contains { $0.mask != nil }) { member.barrier() }
        input.forward(x, rows: share, batchRows: rows, member: &member)
        for l in layers.indices { layers[l].forward(rows: share, batchRows: rows, member: &member) }
        head.forward(rows: share, output: output)
    }

    /// Whether the backward pass needs a barrier after `forward`: its only reads of other threads' writes
    /// are each layer's `Wᵀ` (`LayerPart.transposed`, transposed in shares), which the last layer's
    /// batch-norm relay (a relay with `awaitLast` orders everything written before it for every thread)
    /// already publishes; when the last layer has no batch norm, a barrier does.
    var forwardNeedsBarrier: Bool { layers.last.map { $0.norm == nil } ?? false }

    /// The backward pass over `rows` (this thread's share of `batchRows`), with `∂L/∂ŷ` in `gradOutput`:
    /// the head, the hidden layers (dense gradients as relays), then Bi-Interaction's batch norm and
    /// dropout, up to `∂L/∂(pooled)`.
    func backward(
        rows share: Range<Int>, batchRows rows: Int, gradOutput g: UnsafePointer<Float>, member: inout TeamMember
    ) {
        head.backward(rows: share, gradOutput: g, member: &member)
        for l in layers.indices.reversed() { layers[l].backward(rows: share, batchRows: rows, member: &member) }
        input.backward(rows: share, batchRows: rows, member: &member)
    }

    /// The embedding gradients of the slots `slots` into `gradEmbeddings` (after every thread's `backward`).
    func embeddingBackward(
        _ x: SparseRows, entries: SlotEntries, slots: Range<Int>, into gradEmbeddings: UnsafeMutablePointer<Float>
    ) {
        biInteractionBackward(
            x, factors: input.width, embeddings: input.embeddings, sum: input.sum, gradInteraction: input.gradient,
            entries: entries, slots: slots, gradEmbeddings: gradEmbeddings)
    }
}

/// Batch norm of a `rows × width` activation in a team step: statistics and parameter gradients as
/// relays, the rest row-wise. Raw pointers only (no reference counting by the threads).
struct TeamNorm {
    let width: Int
    let epsilon: Float
    let decay: Float
    let gamma: UnsafeMutablePointer<Float>
    let beta: UnsafeMutablePointer<Float>
    let movingMean: UnsafeMutablePointer<Float>
    let movingVariance: UnsafeMutablePointer<Float>
    let mean: UnsafeMutablePointer<Float>
    let variance: UnsafeMutablePointer<Float>
    let invStd: UnsafeMutablePointer<Float>
    let normalized: UnsafeMutablePointer<Float>
    let gradGamma: UnsafeMutablePointer<Float>
    let gradBeta: UnsafeMutablePointer<Float>

    init(
        parameters p: BatchNormParameters, scratch s: BatchNormScratch, gradGamma: UnsafeMutablePointer<Float>,
        gradBeta: UnsafeMutablePointer<Float>
    ) {
        (width, epsilon, decay) = (p.width, p.epsilon, p.decay)
        (gamma, beta, movingMean, movingVariance) = (p.gamma.pointer, p.beta.pointer, p.movingMean.pointer, p.movingVariance.pointer)
        (mean, variance, invStd, normalized) = (s.mean.pointer, s.variance.pointer, s.invStd.pointer, s.normalized.pointer)
        (self.gradGamma, self.gradBeta) = (gradGamma, gradBeta)
    }

    /// What follows batch norm in the same pass over the rows (`batchNormApplyActivated`): ReLU or not,
    /// and the dropout mask and output (nil: no dropout).
    struct Epilogue {
        let relu: Bool
        let mask: UnsafeMutablePointer<Float>?
        let dropped: UnsafeMutablePointer<Float>
    }

    /// `BatchNormParameters.forwardRows` in training: the batch's μ, σ² and 1/√(σ² + ε) (two relays, the
    /// last thread finishing each and moving the averages), then `x̂` and `γx̂ + β` on this thread's rows,
    /// with `epilogue` (width a multiple of 8) its activation and dropout in the same pass. (One relay, the
    /// last thread summing the squared deviations of the whole batch, saves two hand-overs but reads the
    /// other threads' rows from their caches: 16 KiB for 64 rows of 64, ≈ 0.33 µs measured against
    /// ≈ 0.05–0.12 µs per hand-over, so each thread sums its own rows.)
    func forward(
        _ x: UnsafeMutablePointer<Float>, rows share: Range<Int>, batchRows: Int, member: inout TeamMember,
        epilogue: Epilogue? = nil
    ) {
        let (n, first, last) = (width, member.isFirst, member.isLast)
        let (mean, variance, invStd, epsilon, decay) = (mean, variance, invStd, epsilon, decay)
        let (movingMean, movingVariance) = (movingMean, movingVariance)
        let at = x + share.lowerBound * n
        member.turn {
            columnSums(rows: share.count, width: n, at, into: mean, accumulate: !first)
            if last { batchNormFinishMean(rows: batchRows, width: n, mean: mean) }
        }
        member.awaitLast()
        member.turn {
            squaredDeviationSums(rows: share.count, width: n, at, mean: mean, into: variance, accumulate: !first)
            if last {
                batchNormFinishVariance(rows: batchRows, width: n, epsilon: epsilon, variance: variance, invStd: invStd)
                batchNormMovingAverages(
                    width: n, decay: decay, mean: mean, variance: variance, movingMean: movingMean,
                    movingVariance: movingVariance)
            }
        }
        member.awaitLast()
        let rowNormalized = normalized + share.lowerBound * n
        if let epilogue {
            let offset = share.lowerBound * n
            batchNormApplyActivated(
                rows: share.count, width: n, at, gamma: gamma, beta: beta, mean: mean, invStd: invStd,
                normalized: rowNormalized, relu: epilogue.relu, mask: epilogue.mask.map { UnsafePointer($0 + offset) },
                dropped: epilogue.dropped + offset)
            return
        }
        batchNormApply(
            rows: share.count, width: n, at, gamma: gamma, beta: beta, mean: mean, invStd: invStd,
            normalized: rowNormalized)
    }

    /// `BatchNormParameters.backward` on `gradient`: ∂γ, ∂β as a relay, then the input gradient of this
    /// thread's rows.
    func backward(_ gradient: UnsafeMutablePointer<Float>, rows share: Range<Int>, batchRows: Int, member: inout TeamMember) {
        let (n, first) = (width, member.isFirst)
        let (at, normalized) = (gradient + share.lowerBound * n, normalized + share.lowerBound * n)
        let (gradGamma, gradBeta) = (gradGamma, gradBeta)
        member.turn {
            batchNormParameterGradients(
                rows: share.count, width: n, grad: at, normalized: normalized, gradGamma: gradGamma, gradBeta: gradBeta,
                accumulate: !first)
        }
        member.awaitLast()
        batchNormInputGradient(
            rows: share.count, batchRows: batchRows, width: n, grad: at, normalized: normalized,
            gamma: gamma, invStd: invStd, gradGamma: gradGamma, gradBeta: gradBeta)
    }
}

/// Bi-Interaction pooling, its batch norm and dropout, in a team step.
struct InputPart {
    let width: Int
    let embeddings: UnsafeMutablePointer<Float>
    let sum: UnsafeMutablePointer<Float>
    let pooled: UnsafeMutablePointer<Float>
    let norm: TeamNorm?
    let mask: UnsafeMutablePointer<Float>?
    let dropped: UnsafeMutablePointer<Float>
    /// What the next stage reads: the dropped copy with dropout, else `pooled`.
    let output: UnsafeMutablePointer<Float>
    /// `∂L/∂output` (set by `TeamPlan`).
    var gradient: UnsafeMutablePointer<Float>

    init(stage: BiInteractionStage, scratch s: BiInteractionStage.Scratch) {
        width = stage.factors
        embeddings = stage.embeddings.pointer
        sum = s.sum.pointer
        pooled = s.pooled.pointer
        norm = stage.norm.flatMap { norm in
            s.norm.map {
                TeamNorm(parameters: norm, scratch: $0, gradGamma: s.denseGradients[0].pointer, gradBeta: s.denseGradients[1].pointer)
            }
        }
        mask = s.dropout.ratio > 0 ? s.dropout.mask.pointer : nil
        dropped = s.dropout.dropped.pointer
        output = mask == nil ? pooled : dropped
        gradient = pooled
    }

    func forward(_ x: SparseRows, rows share: Range<Int>, batchRows: Int, member: inout TeamMember) {
        let (k, at) = (width, share.lowerBound * width)
        biInteractionForward(x.rows(share), factors: k, embeddings: embeddings, sum: sum + at, interaction: pooled + at)
        // Batch norm and dropout in one pass when the width allows (the same bits as two).
        let fused = norm != nil && k % 8 == 0
        norm?.forward(
            pooled, rows: share, batchRows: batchRows, member: &member,
            epilogue: fused ? TeamNorm.Epilogue(relu: false, mask: mask, dropped: dropped) : nil)
        if !fused, let mask { multiply(count: share.count * k, pooled + at, by: mask + at, into: dropped + at) }
    }

    func backward(rows share: Range<Int>, batchRows: Int, member: inout TeamMember) {
        let at = share.lowerBound * width
        if let mask { multiply(count: share.count * width, gradient + at, by: mask + at) }
        norm?.backward(gradient, rows: share, batchRows: batchRows, member: &member)
    }
}

/// One hidden layer in a team step: `aW + b`, batch norm, activation, dropout; and its backward.
struct LayerPart {
    let inputWidth: Int
    let width: Int
    let input: UnsafeMutablePointer<Float>
    let weight: UnsafeMutablePointer<Float>
    let bias: UnsafeMutablePointer<Float>
    let transposed: UnsafeMutablePointer<Float>
    let hidden: UnsafeMutablePointer<Float>
    let norm: TeamNorm?
    let activation: ActivationKind
    let mask: UnsafeMutablePointer<Float>?
    let dropped: UnsafeMutablePointer<Float>
    let output: UnsafeMutablePointer<Float>
    let gradWeight: UnsafeMutablePointer<Float>
    let gradBias: UnsafeMutablePointer<Float>
    /// `∂L/∂output` (overwritten by `∂L/∂z`) and `∂L/∂input`, set by `TeamPlan`.
    var gradient: UnsafeMutablePointer<Float>
    var gradInput: UnsafeMutablePointer<Float>

    init(stack: DenseStack, layer l: Int, scratch s: DenseStack.Scratch, input: UnsafeMutablePointer<Float>) {
        let layer = stack.layers[l]
        let gradients = s.layerGradients[l]
        (inputWidth, width, self.input) = (layer.inputWidth, layer.width, input)
        (weight, bias, transposed, hidden) = (layer.weight.pointer, layer.bias.pointer, s.transposed[l].pointer, s.hidden[l].pointer)
        norm = layer.norm.flatMap { norm in
            s.norms[l].map { TeamNorm(parameters: norm, scratch: $0, gradGamma: gradients[2].pointer, gradBeta: gradients[3].pointer) }
        }
        activation = stack.activation
        mask = s.dropouts[l].ratio > 0 ? s.dropouts[l].mask.pointer : nil
        dropped = s.dropouts[l].dropped.pointer
        output = mask == nil ? hidden : dropped
        (gradWeight, gradBias) = (gradients[0].pointer, gradients[1].pointer)
        (gradient, gradInput) = (hidden, hidden)
    }

    /// `DenseStack`'s training forward on this thread's rows (and its share of `Wᵀ`'s rows).
    func forward(rows share: Range<Int>, batchRows: Int, member: inout TeamMember) {
        let (n, p) = (width, inputWidth)
        let h = hidden + share.lowerBound * n
        broadcastRow(rows: share.count, width: n, bias, into: h)
        gemm(
            m: share.count, n: n, p: p, a: input + share.lowerBound * p, aRowStride: p, aColStride: 1, b: weight, c: h,
            accumulate: true)
        transposeRows(member.share(of: p, unit: 8), columns: n, of: weight, rows: p, into: transposed)
        // Batch norm, ReLU (or the identity) and dropout in one pass when the width allows (the same bits
        // as three).
        let fused = norm != nil && n % 8 == 0 && (activation == .relu || activation == .identity)
        norm?.forward(
            hidden, rows: share, batchRows: batchRows, member: &member,
            epilogue: fused ? TeamNorm.Epilogue(relu: activation == .relu, mask: mask, dropped: dropped) : nil)
        if !fused {
            activationForward(activation, count: share.count * n, h)
            if let mask {
                let at = share.lowerBound * n
                multiply(count: share.count * n, hidden + at, by: mask + at, into: dropped + at)
            }
        }
    }

    /// `DenseStack`'s backward of one layer on this thread's rows: dropout and the activation's
    /// derivative, batch norm, then `∂b` and `∂W` as one relay and `∂a` row-wise (thread 0 takes its relay
    /// leg first, the others their `∂a` first, so that no thread idles while the relay passes).
    func backward(rows share: Range<Int>, batchRows: Int, member: inout TeamMember) {
        let (n, p, first) = (width, inputWidth, member.isFirst)
        let (at, d) = (share.lowerBound * n, gradient + share.lowerBound * n)
        let fusable = activation == .relu || activation == .identity
        if !fusable || norm == nil {
            if let mask { multiply(count: share.count * n, d, by: mask + at) }
            activationBackward(activation, count: share.count * n, output: hidden + at, grad: d)
        }
        if let norm {
            if fusable {
                maskedActivationBackward(
                    activation, rows: share.count, width: n, rowStride: n, mask: mask.map { $0 + at }, output: hidden + at,
                    grad: d)
            }
            norm.backward(gradient, rows: share, batchRows: batchRows, member: &member)
        }
        let (a, gradWeight, gradBias) = (input + share.lowerBound * p, gradWeight, gradBias)
        let weights = {
            columnSums(rows: share.count, width: n, d, into: gradBias, accumulate: !first)
            if share.isEmpty {
                if first { gradWeight.update(repeating: 0, count: p * n) }
            } else {
                gemm(m: p, n: n, p: share.count, a: a, aRowStride: 1, aColStride: p, b: d, c: gradWeight, accumulate: !first)
            }
        }
        let (transposed, gradInput) = (transposed, gradInput)
        let inputGradient = {
            gemm(
                m: share.count, n: p, p: n, a: d, aRowStride: n, aColStride: 1, b: transposed,
                c: gradInput + share.lowerBound * p, accumulate: false)
        }
        if first {
            member.turn(weights)
            inputGradient()
        } else {
            inputGradient()
            member.turn(weights)
        }
    }
}

/// The prediction vector in a team step.
struct HeadPart {
    let width: Int
    let weights: UnsafeMutablePointer<Float>
    let input: UnsafeMutablePointer<Float>
    /// `∂h` when `h` is trained (FM's fixed ones: nil).
    let gradWeights: UnsafeMutablePointer<Float>?
    let gradInput: UnsafeMutablePointer<Float>

    init(stage: PredictionVector, scratch s: PredictionVector.Scratch, input: UnsafeMutablePointer<Float>) {
        width = stage.weights.count
        weights = stage.weights.pointer
        self.input = input
        gradWeights = stage.trained ? s.denseGradients[0].pointer : nil
        gradInput = s.gradInput.pointer
    }

    /// `output[r] += hᵀa_r` on this thread's rows.
    func forward(rows share: Range<Int>, output: UnsafeMutablePointer<Float>) {
        addRowDots(
            rows: share.count, width: width, input + share.lowerBound * width, weights, into: output + share.lowerBound)
    }

    /// `∂a` on this thread's rows, `∂h` as a relay.
    func backward(rows share: Range<Int>, gradOutput g: UnsafePointer<Float>, member: inout TeamMember) {
        let (n, at, first) = (width, share.lowerBound * width, member.isFirst)
        scaledRows(rows: share.count, width: n, weights, scales: g + share.lowerBound, into: gradInput + at)
        guard let gradWeights else { return }
        let a = input + at
        member.turn {
            weightedColumnSums(
                rows: share.count, width: n, a, weights: g + share.lowerBound, into: gradWeights, accumulate: !first)
        }
    }
}

/// The memory behind a workspace's `TeamPlan`: its layers, and the term's dropout scratches (whose masks
/// the team step requests ahead: `DropoutScratch.cancelRequest`).
final class TeamPlanStorage {
    let layers: UnsafeMutableBufferPointer<LayerPart>
    let dropouts: [DropoutScratch]

    init(layers count: Int, dropouts: [DropoutScratch]) {
        layers = .allocate(capacity: count)
        self.dropouts = dropouts
    }

    deinit { layers.deallocate() }
}
