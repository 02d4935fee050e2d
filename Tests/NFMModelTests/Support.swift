import Foundation
import NFMFormat
import NFMKernels
import Testing
@testable import NFMModel

/// A fresh temporary directory, removed by the caller with `FileSystem.remove`.
func temporaryDirectory(_ name: String = #function) -> String {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let path = NSTemporaryDirectory() + "/nfm-model-tests-\(safe)-\(UInt32.random(in: 0...UInt32.max))"
    try! FileSystem.createDirectory(path)
    return path
}

/// Writes a fixed-layout dataset directory with the given rows per split.
func writeDataset(
    directory: String, cardinalities: [Int], splits: [Split: [(label: Float, features: [UInt32])]],
    labels: DatasetManifest.Labels = .init(positive: 1, negative: -1), rowsPerShard: Int = 64, name: String = "synthetic"
) throws {
    var offset = 0
    var fields: [DatasetManifest.Field] = []
    for (i, c) in cardinalities.enumerated() {
        fields.append(.init(name: "f\(i)", offset: offset, cardinality: c, vocabulary: ""))
        offset += c
    }
    var shards: [DatasetManifest.Shard] = []
    var counts = DatasetManifest.Counts()
    for split in Split.allCases {
        let rows = splits[split] ?? []
        let writer = try ShardWriter(
            directory: directory, split: split, layout: .fixed, fieldCount: cardinalities.count, rowsPerShard: rowsPerShard,
            level: 1, threads: 1)
        for row in rows {
            try row.features.withUnsafeBufferPointer { try writer.append(label: row.label, features: $0) }
        }
        shards += try writer.finish()
        switch split {
        case .train: counts.train = rows.count
        case .validation: counts.validation = rows.count
        case .test: counts.test = rows.count
        }
    }
    let manifest = DatasetManifest(
        tool: ToolInfo.name, name: name, definition: nil, seed: 1, negativeRule: nil, inputs: [], counts: counts,
        labels: labels, layout: .fixed, fields: fields, featureCount: offset, files: [], shards: shards)
    try manifest.write(to: directory)
}

/// The parity problem: two fields of 4 values, label +1 when the value indices have equal parity.
/// An FM represents it exactly (⟨v_a, v_b⟩ = uₐu_b with u = (1, −1, 1, −1)); a linear model cannot.
func parityRows(repeats: Int) -> [(label: Float, features: [UInt32])] {
    var rows: [(label: Float, features: [UInt32])] = []
    for _ in 0..<repeats {
        for a in 0..<4 {
            for b in 0..<4 { rows.append(((a + b) % 2 == 0 ? 1 : -1, [UInt32(a), UInt32(4 + b)])) }
        }
    }
    return rows
}

/// Random rows over `cardinalities` (one feature per field) with ±1 labels.
func randomRows(count: Int, cardinalities: [Int], seed: UInt64) -> [(label: Float, features: [UInt32])] {
    var random = Xoshiro256(seed: seed)
    var rows: [(label: Float, features: [UInt32])] = []
    for _ in 0..<count {
        var offset = 0
        var features: [UInt32] = []
        for c in cardinalities {
            features.append(UInt32(offset + random.next(below: c)))
            offset += c
        }
        rows.append((random.next(below: 2) == 0 ? -1 : 1, features))
    }
    return rows
}

/// Sets every parameter to a random value of scale `scale` (so that every path carries gradient).
func randomize(_ model: Model, seed: UInt64, scale: Double = 0.5) {
    var random = Xoshiro256(seed: seed)
    for (name, buffer) in model.namedTensors {
        if name.hasSuffix("moving_variance") {
            for i in 0..<buffer.count { buffer[i] = Float(0.5 + random.nextUnit()) }
        } else if name.hasSuffix("gamma") {
            for i in 0..<buffer.count { buffer[i] = Float(1 + 0.3 * random.nextNormal()) }
        } else {
            for i in 0..<buffer.count { buffer[i] = Float(scale * random.nextNormal()) }
        }
    }
    model.prepareInference()
}

/// The outcome of `checkModelGradients`.
struct GradientCheck {
    /// Tensors that have no analytic gradient (expected: batch-norm moving statistics, FM's fixed `h`).
    var missing: [String] = []
    /// Tensors with at least one non-zero analytic gradient entry.
    var nonZero: Set<String> = []
    /// Entries compared.
    var checked = 0
    /// Mismatches as "name[i] analytic … numeric …".
    var failures: [String] = []
}

/// Compares every analytic gradient of `model` on the rows `x` (squared loss against `targets`, fixed
/// dropout masks; passes on a `threads`-thread workspace) with central differences of step `step`; with
/// `retrySmallerStep`, an entry that disagrees is re-estimated with a 16× smaller step first (a ReLU kink
/// within `step` of a pre-activation spoils a central difference).
func checkModelGradients(
    _ model: Model, _ x: SparseRows, rows: Int, targets: [Float], featureCount: Int, step: Float = 4e-3,
    retrySmallerStep: Bool = false, threads: Int = 1
) -> GradientCheck {
    let ws = Workspace(model: model, capacity: rows, pool: WorkerPool(threads: threads, minimumParallelCost: 0))
    func loss() -> Double {
        var random = Xoshiro256(seed: 77)  // same dropout masks every time
        model.forward(x, workspace: ws, training: true, random: &random)
        return model.lossGradient(rows: rows, targets: targets, workspace: ws)
    }
    _ = loss()
    model.assignSlots(x, workspace: ws)
    model.backward(x, workspace: ws)
    // Copy the analytic gradients out, keyed by parameter.
    var analytic: [ObjectIdentifier: [Float]] = [:]
    for (p, g) in zip(model.denseTrainable, ws.denseGradients) { analytic[ObjectIdentifier(p)] = g.array }
    // Sparse gradients (one row per batch slot) as full tables.
    for (parameter, gradient) in model.sparseGradients(in: ws) {
        let width = parameter.width
        var full = [Float](repeating: 0, count: parameter.table.count)
        for s in 0..<ws.slots.count {
            let f = Int(ws.slots.slotFeature[s])
            for j in 0..<width { full[f * width + j] = gradient[s * width + j] }
        }
        analytic[ObjectIdentifier(parameter.table)] = full
    }
    model.releaseSlots(workspace: ws)
    var result = GradientCheck()
    for (name, buffer) in model.namedTensors {
        guard let gradient = analytic[ObjectIdentifier(buffer)] else {
            result.missing.append(name)
            continue
        }
        for i in 0..<buffer.count {
            func numeric(_ step: Float) -> Double {
                let saved = buffer[i]
                buffer[i] = saved + step
                let plus = loss()
                buffer[i] = saved - step
                let minus = loss()
                buffer[i] = saved
                return (plus - minus) / Double(2 * step)
            }
            var estimate = numeric(step)
            if retrySmallerStep && !close(Double(gradient[i]), estimate) { estimate = numeric(step / 16) }
            if !close(Double(gradient[i]), estimate) {
                result.failures.append("\(name)[\(i)] analytic \(gradient[i]) numeric \(estimate)")
            }
            if gradient[i] != 0 { result.nonZero.insert(name) }
            result.checked += 1
        }
    }
    return result
}

/// Checks `analytic` (the gradient of `loss` at `parameters`) by central differences of step 1e-3.
func checkGradient(
    _ analytic: [Float], _ parameters: inout [Float], _ what: String, loss: ([Float]) -> Double
) -> Int {
    var checked = 0
    for i in parameters.indices {
        let saved = parameters[i]
        parameters[i] = saved + 1e-3
        let plus = loss(parameters)
        parameters[i] = saved - 1e-3
        let minus = loss(parameters)
        parameters[i] = saved
        let numeric = (plus - minus) / 2e-3
        #expect(close(Double(analytic[i]), numeric), "\(what)[\(i)]: analytic \(analytic[i]) numeric \(numeric)")
        checked += 1
    }
    return checked
}

/// The feature indices of a `rows × fields` batch with skewed frequencies: field 0 takes `frequent` values
/// (features `0..<frequent`, in nearly every slot block), every other field `rare` values of its own
/// (features `frequent + rare · (f − 1) + v`), drawn from `Xoshiro256(seed:)` entry by entry.
func skewedIndices(rows: Int, fields: Int, frequent: Int, rare: Int, seed: UInt64) -> [UInt32] {
    var random = Xoshiro256(seed: seed)
    return (0..<(rows * fields)).map { e in
        e % fields == 0
            ? UInt32(random.next(below: frequent)) : UInt32(frequent + rare * (e % fields - 1) + random.next(below: rare))
    }
}
