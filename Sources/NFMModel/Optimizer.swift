import NFMKernels

/// The optimisers of the paper's code: Adagrad (the authors' choice), Adam, plain SGD and momentum SGD.
public enum OptimizerKind: String, Codable, Sendable, CaseIterable {
    /// The raw values are the command line's `--optimizer` spelling and the checkpoint's record.
    case adagrad, adam, sgd, momentum

    /// Default learning rates for a loss summed over the batch (the authors' convention).
    public var defaultLearningRate: Float {
        switch self {
        case .adagrad: 0.05
        case .adam: 0.001
        case .sgd, .momentum: 0.001
        }
    }
}

/// The optimiser of a training run, with the authors' TensorFlow hyper-parameters: Adagrad with an
/// initial accumulator of 1e-8, Adam β = (0.9, 0.999), ε = 1e-8, momentum 0.95.
///
/// Embedding and first-order rows are updated sparsely: only rows of features present in the batch
/// are touched (their optimiser state too; Adam's bias correction uses the global step, as
/// TensorFlow's lazy Adam). `l2` applies to embedding rows only, when they are updated.
public final class Optimizer {
    /// Which update rule is applied.
    public let kind: OptimizerKind
    /// η, the step size (Adam: before bias correction).
    public let learningRate: Float
    /// λ, the L2 coefficient, applied by the update kernels to the embedding rows a batch updates (never to
    /// first-order weights or dense tensors).
    public let l2: Float
    /// Number of optimisation steps begun (Adam's bias-correction t).
    public private(set) var step = 0
    private var states: [ObjectIdentifier: [FloatBuffer]] = [:]

    /// Adagrad's initial accumulator value, as in TensorFlow's `AdagradOptimizer` used by the authors.
    public static let adagradInitialAccumulator: Float = 1e-8
    /// The momentum coefficient of `.momentum`.
    public static let momentum: Float = 0.95

    /// An optimiser with no state yet; state buffers are allocated per parameter at its first update.
    public init(kind: OptimizerKind, learningRate: Float, l2: Float = 0) {
        self.kind = kind
        self.learningRate = learningRate
        self.l2 = l2
    }

    private func state(for parameter: FloatBuffer) -> [FloatBuffer] {
        if let state = states[ObjectIdentifier(parameter)] { return state }
        let state: [FloatBuffer]
        switch kind {
        case .adagrad: state = [FloatBuffer(count: parameter.count, repeating: Self.adagradInitialAccumulator)]
        case .adam: state = [FloatBuffer(count: parameter.count), FloatBuffer(count: parameter.count)]
        case .sgd: state = []
        case .momentum: state = [FloatBuffer(count: parameter.count)]
        }
        states[ObjectIdentifier(parameter)] = state
        return state
    }

    private var adamStepSize: Float {
        let t = Double(step)
        return Float(Double(learningRate) * (1 - Foundation.pow(0.999, t)).squareRoot() / (1 - Foundation.pow(0.9, t)))
    }

    func beginStep() { step += 1 }

    @inline(__always)
    private func apply(
        _ state: [FloatBuffer], offset: Int, count: Int, parameter: UnsafeMutablePointer<Float>,
        gradient: UnsafePointer<Float>, l2: Float, stepSize: Float
    ) {
        switch kind {
        case .adagrad:
            adagradStep(
                count: count, parameters: parameter, gradient: gradient, accumulator: state[0].pointer + offset,
                learningRate: learningRate, l2: l2)
        case .adam:
            adamStep(
                count: count, parameters: parameter, gradient: gradient, firstMoment: state[0].pointer + offset,
                secondMoment: state[1].pointer + offset, stepSize: stepSize, beta1: 0.9, beta2: 0.999, epsilon: 1e-8,
                l2: l2)
        case .sgd:
            sgdStep(count: count, parameters: parameter, gradient: gradient, learningRate: learningRate, l2: l2)
        case .momentum:
            momentumStep(
                count: count, parameters: parameter, gradient: gradient, velocity: state[0].pointer + offset,
                learningRate: learningRate, momentum: Self.momentum, l2: l2)
        }
    }

    /// Updates every element of `parameter`.
    func update(_ parameter: FloatBuffer, gradient: FloatBuffer) {
        let state = state(for: parameter)
        apply(
            state, offset: 0, count: parameter.count, parameter: parameter.pointer, gradient: gradient.pointer, l2: 0,
            stepSize: kind == .adam ? adamStepSize : 0)
    }

    /// Updates rows `rows[s]` (width `width`) of `parameter` with gradient rows `s` of `gradients`.
    func updateRows(
        _ parameter: FloatBuffer, width: Int, rows: UnsafePointer<Int32>, count: Int, gradients: UnsafePointer<Float>,
        l2: Float
    ) {
        let state = state(for: parameter)
        let stepSize = kind == .adam ? adamStepSize : 0
        for s in 0..<count {
            let offset = Int(rows[s]) * width
            apply(
                state, offset: offset, count: width, parameter: parameter.pointer + offset,
                gradient: gradients + s * width, l2: l2, stepSize: stepSize)
        }
    }
}

import Foundation
