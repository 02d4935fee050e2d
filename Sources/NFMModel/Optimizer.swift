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
    /// The tensors of the current step's update job (kept to reuse its memory).
    private var targets: [UpdateTarget] = []
    /// Adam's step size for the prepared job.
    private var preparedStepSize: Float = 0
    /// `targets` of the prepared job as raw memory, read by `runTask` on several threads at once (no
    /// array access, so no reference counting on a shared buffer per task).
    private var preparedTargets = UnsafeMutablePointer<UpdateTarget>.allocate(capacity: 16)
    private var preparedCapacity = 16

    deinit { preparedTargets.deallocate() }

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
        _ state0: UnsafeMutablePointer<Float>, _ state1: UnsafeMutablePointer<Float>, offset: Int, count: Int,
        parameter: UnsafeMutablePointer<Float>,
        gradient: UnsafePointer<Float>, l2: Float, stepSize: Float
    ) {
        switch kind {
        case .adagrad:
            adagradStep(
                count: count, parameters: parameter, gradient: gradient, accumulator: state0 + offset,
                learningRate: learningRate, l2: l2)
        case .adam:
            adamStep(
                count: count, parameters: parameter, gradient: gradient, firstMoment: state0 + offset,
                secondMoment: state1 + offset, stepSize: stepSize, beta1: 0.9, beta2: 0.999, epsilon: 1e-8,
                l2: l2)
        case .sgd:
            sgdStep(count: count, parameters: parameter, gradient: gradient, learningRate: learningRate, l2: l2)
        case .momentum:
            momentumStep(
                count: count, parameters: parameter, gradient: gradient, velocity: state0 + offset,
                learningRate: learningRate, momentum: Self.momentum, l2: l2)
        }
    }

    /// One step's updates of every dense tensor (`dense`, all elements) and every sparse table
    /// (`sparse`, the rows `rows[0..<slots]` with gradient rows `0..<slots`), as one job on `pool`: dense
    /// tensors in blocks of `WorkerPool.elementGrain` values, sparse tables in blocks of
    /// `WorkerPool.slotGrain` rows. Every value is updated once, by the same element-wise kernels whatever the block, so the result does not depend on the pool's threads. The tensors are handed over as
    /// raw pointers (`UpdateTarget`, in a buffer kept from step to step), so a step allocates nothing.
    func apply(
        dense: some Sequence<(FloatBuffer, FloatBuffer)>, sparse: some Sequence<(SparseParameter, FloatBuffer)>,
        rows: UnsafePointer<Int32>, slots: Int, pool: WorkerPool
    ) {
        let (tasks, values) = prepare(dense: dense, sparse: sparse, slots: slots)
        pool.forEachBlock(tasks, grain: 1, cost: 6 * values) { block in runTask(block.lowerBound, rows: rows) }
    }

    /// The step's update job of `apply` without running it: returns its number of tasks (each of which
    /// `runTask` runs, in any order or thread) and of values updated.
    func prepare(
        dense: some Sequence<(FloatBuffer, FloatBuffer)>, sparse: some Sequence<(SparseParameter, FloatBuffer)>,
        slots: Int
    ) -> (tasks: Int, values: Int) {
        targets.removeAll(keepingCapacity: true)
        var tasks = 0
        var values = 0
        for (parameter, gradient) in dense {
            targets.append(
                target(parameter, gradient: gradient, count: parameter.count, width: 0, l2: 0, firstTask: tasks, at: targets.count))
            tasks += (parameter.count + WorkerPool.elementGrain - 1) / WorkerPool.elementGrain
            values += parameter.count
        }
        for (parameter, gradient) in sparse {
            let l2 = parameter.regularized ? l2 : 0
            targets.append(
                target(parameter.table, gradient: gradient, count: slots, width: parameter.width, l2: l2, firstTask: tasks, at: targets.count))
            tasks += (slots + WorkerPool.slotGrain - 1) / WorkerPool.slotGrain
            values += slots * parameter.width
        }
        preparedStepSize = kind == .adam ? adamStepSize : 0
        if targets.count > preparedCapacity {
            preparedTargets.deallocate()
            preparedCapacity = 2 * targets.count
            preparedTargets = .allocate(capacity: preparedCapacity)
        }
        targets.withUnsafeBufferPointer { all in
            if let base = all.baseAddress { preparedTargets.update(from: base, count: all.count) }
        }
        preparedCount = targets.count
        return (tasks, values)
    }

    /// Targets in `preparedTargets`.
    private var preparedCount = 0

    /// Tasks of the prepared job's dense tensors (its first tasks; the sparse tables' tasks follow).
    var preparedDenseTasks: Int {
        var dense = 0
        for t in 0..<preparedCount where preparedTargets[t].width == 0 { dense = t + 1 }
        return dense == 0 ? 0 : preparedTargets[dense - 1].firstTask + (preparedTargets[dense - 1].count + WorkerPool.elementGrain - 1) / WorkerPool.elementGrain
    }

    /// Updates the slots `range` of the prepared job's sparse table number `table` (in the order `prepare`
    /// was given them), instead of that table's tasks: for a caller that updates the rows of a block of
    /// slots as soon as their gradients are summed. The same bits as `runTask` on the table's tasks.
    func updateSparse(table: Int, slots range: Range<Int>, rows: UnsafePointer<Int32>) {
        var t = 0
        var seen = 0
        while t < preparedCount {
            if preparedTargets[t].width > 0 {
                if seen == table { break }
                seen += 1
            }
            t += 1
        }
        updateRows(preparedTargets[t], slots: range, rows: rows, stepSize: preparedStepSize)
    }

    /// Task `task` of the job `prepare` made: a block of one dense tensor or of one sparse table's slots
    /// (`rows[s]` is the table row of slot `s`).
    func runTask(_ task: Int, rows: UnsafePointer<Int32>) {
        let targets = preparedTargets
        var t = preparedCount - 1
        while targets[t].firstTask > task { t -= 1 }
        update(targets[t], task: task - targets[t].firstTask, rows: rows, stepSize: preparedStepSize)
    }

    /// The update target of `parameter`, number `index` of the job being prepared. When the last job had
    /// the same tensor at that place (every training step after the first), its state pointers are taken
    /// from there instead of the dictionary of states, whose hashing cost more than the rest of `prepare`.
    private func target(
        _ parameter: FloatBuffer, gradient: FloatBuffer, count: Int, width: Int, l2: Float, firstTask: Int, at index: Int
    ) -> UpdateTarget {
        let key = ObjectIdentifier(parameter)
        let state0: UnsafeMutablePointer<Float>, state1: UnsafeMutablePointer<Float>
        if index < preparedCount, preparedTargets[index].key == key {
            (state0, state1) = (preparedTargets[index].state0, preparedTargets[index].state1)
        } else {
            let state = state(for: parameter)
            state0 = state.first?.pointer ?? parameter.pointer
            state1 = state.count > 1 ? state[1].pointer : parameter.pointer
        }
        return UpdateTarget(
            key: key, parameter: parameter.pointer, gradient: gradient.pointer, state0: state0, state1: state1,
            count: count, width: width, l2: l2, firstTask: firstTask)
    }

    /// Task `task` of `target`: a block of `elementGrain` dense values, or of `slotGrain` sparse rows.
    private func update(_ target: UpdateTarget, task: Int, rows: UnsafePointer<Int32>, stepSize: Float) {
        let (state0, state1) = (target.state0, target.state1)
        if target.width == 0 {
            let at = task * WorkerPool.elementGrain
            let count = min(WorkerPool.elementGrain, target.count - at)
            apply(
                state0, state1, offset: at, count: count, parameter: target.parameter + at, gradient: target.gradient + at,
                l2: 0, stepSize: stepSize)
            return
        }
        updateRows(target, slots: (task * WorkerPool.slotGrain)..<min(target.count, (task + 1) * WorkerPool.slotGrain), rows: rows, stepSize: stepSize)
    }

    /// The slots `range` of a sparse target (`rows[s]` the table row of slot `s`): each row updated alone,
    /// so any cut of the slots gives the same bits.
    private func updateRows(_ target: UpdateTarget, slots range: Range<Int>, rows: UnsafePointer<Int32>, stepSize: Float) {
        let (state0, state1) = (target.state0, target.state1)
        if kind == .adagrad {
            adagradRowsStep(
                width: target.width, rows: rows, slots: range, parameters: target.parameter,
                gradients: target.gradient, accumulator: target.state0, learningRate: learningRate, l2: target.l2)
            return
        }
        for s in range {
            let offset = Int(rows[s]) * target.width
            apply(
                state0, state1, offset: offset, count: target.width, parameter: target.parameter + offset,
                gradient: target.gradient + s * target.width, l2: target.l2, stepSize: stepSize)
        }
    }
}

/// One tensor of `Optimizer.apply` as raw pointers: a dense tensor (`width` 0, `count` values) or a sparse
/// table (`count` batch slots of `width` values); its optimiser state (`state0`, `state1`, unused ones
/// pointing at the parameter), and the number of its first task in the step's job. `key` names the
/// parameter's buffer (the key of its state).
struct UpdateTarget {
    let key: ObjectIdentifier
    let parameter: UnsafeMutablePointer<Float>
    let gradient: UnsafePointer<Float>
    let state0: UnsafeMutablePointer<Float>
    let state1: UnsafeMutablePointer<Float>
    let count: Int
    let width: Int
    let l2: Float
    let firstTask: Int
}

import Foundation
