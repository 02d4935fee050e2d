import NFMKernels
import NFMModel

/// A fixed amount of training work for instruction counts (`valgrind --tool=callgrind`): `count` training
/// steps of a model on random Frappe-shaped rows (batch 128, 10 one-hot fields of Frappe's cardinalities,
/// k = 64, the CLI's default layers and dropout of the kind), no timing.
enum TrainSteps {
    static let frappe = [957, 4_082, 7, 7, 2, 3, 2, 9, 80, 233]

    /// Runs the steps and returns the last batch loss (printed, so the work cannot be optimised away).
    static func run(kind: ModelKind, count: Int, rows: Int = 128, k: Int = 64) -> Double {
        var random = Xoshiro256(seed: 1)
        var indices = [UInt32](repeating: 0, count: rows * frappe.count)
        for r in 0..<rows {
            var offset = 0
            for (f, size) in frappe.enumerated() {
                indices[r * frappe.count + f] = UInt32(offset + random.next(below: size))
                offset += size
            }
        }
        let concatenates = kind == .wideDeep || kind == .deepCross
        let config = ModelConfig(
            kind: kind, featureCount: frappe.reduce(0, +), factors: k, biDropout: concatenates ? 0.2 : 0.5,
            hiddenDropout: [concatenates ? 0.5 : 0.2], batchNorm: kind == .nfm || kind == .wideDeep,
            fieldSizes: frappe)
        let model = Model(config: config)
        model.initialize(seed: 1)
        let ws = Workspace(model: model, capacity: rows)
        let optimizer = Optimizer(kind: .adagrad, learningRate: concatenates ? 0.01 : 0.05)
        let targets = [Float](repeating: 1, count: rows)
        var dropout = Xoshiro256(seed: 2)
        var loss = 0.0
        indices.withUnsafeBufferPointer { idx in
            let x = SparseRows(rowCount: rows, fieldCount: frappe.count, indices: idx.baseAddress!)
            for _ in 0..<count {
                loss = model.trainStep(x, targets: targets, workspace: ws, optimizer: optimizer, random: &dropout)
            }
        }
        return loss
    }
}
