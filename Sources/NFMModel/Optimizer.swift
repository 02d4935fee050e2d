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

    /// One step's updates of every dense tensor (`dense`, all elements) and every sparse table
    /// (`sparse`, the rows `rows[0..<slots]` with gradient rows `0..<slots`), as one job on `pool`: dense
    /// tensors in blocks of `WorkerPool.elementGrain` values, sparse tables in blocks of
    /// `WorkerPool.slotGrain` rows. Every value is updated once, by the same arithmetic as `update` and
    /// `updateRows`, so the result does not depend on the pool's threads.
    func apply(
        dense: [(parameter: FloatBuffer, gradient: FloatBuffer)],
        sparse: [(parameter: SparseParameter, gradient: FloatBuffer)], rows: UnsafePointer<Int32>, slots: Int,
        pool: WorkerPool
    ) {
        let stepSize = kind == .adam ? adamStepSize : 0
        var tasks: [UpdateTask] = []
        for (parameter, gradient) in dense {
            let state = state(for: parameter)
            for start in stride(from: 0, to: parameter.count, by: WorkerPool.elementGrain) {
                let count = min(WorkerPool.elementGrain, parameter.count - start)
                tasks.append(UpdateTask(parameter: parameter, gradient: gradient, state: state, range: start..<(start + count), width: 0, l2: 0))
            }
        }
        for (parameter, gradient) in sparse {
            let state = state(for: parameter.table)
            let l2 = parameter.regularized ? l2 : 0
            for start in stride(from: 0, to: slots, by: WorkerPool.slotGrain) {
                let range = start..<min(slots, start + WorkerPool.slotGrain)
                tasks.append(UpdateTask(parameter: parameter.table, gradient: gradient, state: state, range: range, width: parameter.width, l2: l2))
            }
        }
        let values = tasks.reduce(0) { $0 + $1.range.count * max(1, $1.width) }
        pool.forEachBlock(tasks.count, grain: 1, cost: 6 * values) { block in
            let task = tasks[block.lowerBound]
            if task.width == 0 {
                let at = task.range.lowerBound
                apply(
                    task.state, offset: at, count: task.range.count, parameter: task.parameter.pointer + at,
                    gradient: task.gradient.pointer + at, l2: 0, stepSize: stepSize)
            } else {
                for s in task.range {
                    let offset = Int(rows[s]) * task.width
                    apply(
                        task.state, offset: offset, count: task.width, parameter: task.parameter.pointer + offset,
                        gradient: task.gradient.pointer + s * task.width, l2: task.l2, stepSize: stepSize)
                }
            }
        }
    }
}

/// One task of `Optimizer.apply`: a block of a dense tensor's values (`width` 0) or of a sparse table's
/// batch slots (`width` the row width).
private struct UpdateTask {
    let parameter: FloatBuffer
    let gradient: FloatBuffer
    let state: [FloatBuffer]
    let range: Range<Int>
    let width: Int
    let l2: Float
}

import Foundation
