import Foundation
import NFMFormat
import NFMKernels
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
    try FileSystem.writeAtomically(try manifest.encoded(), to: directory + "/" + DatasetManifest.fileName)
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
