import Foundation
import NFMFormat
import NFMKernels
import Testing

@testable import NFMModel

/// Training with `--loss log` on a small sparse labelled dataset shaped like a labelled build's output:
/// a categorical field, a standardized number (absent in some rows, negative values) and a multi-valued
/// field with weights 1/n, so rows vary in length and carry values other than 1.
@Suite struct SparseLabelledTrainingTests {
    /// Rows over `c` (features 0–3), `x` (feature 4, the number) and `g` (features 5–7, multi-valued). The
    /// binary label is 1 exactly when `x > 0` agrees with "c is even" (a missing x counts as positive): an
    /// interaction of c with the value of x, which an FM represents (⟨v_c, v_x⟩·x) and a linear model cannot.
    static func rows(count: Int, seed: UInt64) -> [(label: Float, indices: [UInt32], values: [Float])] {
        var random = Xoshiro256(seed: seed)
        return (0..<count).map { _ in
            let c = random.next(below: 4)
            var indices: [UInt32] = [UInt32(c)]
            var values: [Float] = [1]
            var x: Float = 1
            if random.next(below: 10) != 0 {
                x = Float(random.nextNormal())
                indices.append(4)
                values.append(x)
            }
            let genres = (0..<3).filter { _ in random.next(below: 3) == 0 }
            for g in genres {
                indices.append(UInt32(5 + g))
                values.append(1 / Float(genres.count))
            }
            return ((x > 0) == (c % 2 == 0) ? 1 : 0, indices, values)
        }
    }

    /// Writes a sparse-layout dataset directory with the manifest fields a labelled build records.
    static func writeSparseDataset(directory: String) throws {
        var shards: [DatasetManifest.Shard] = []
        var counts = DatasetManifest.Counts()
        for (split, count, seed) in [(Split.train, 600, UInt64(1)), (.validation, 200, 2), (.test, 200, 3)] {
            let writer = try ShardWriter(
                directory: directory, split: split, layout: .sparse, fieldCount: 0, rowsPerShard: 256, level: 1, threads: 1)
            for row in rows(count: count, seed: seed) { try writer.append(label: row.label, indices: row.indices, values: row.values) }
            shards += try writer.finish()
            switch split {
            case .train: counts.train = count
            case .validation: counts.validation = count
            case .test: counts.test = count
            }
        }
        counts.positives = counts.instances
        let fields: [DatasetManifest.Field] = [
            .init(name: "c", offset: 0, cardinality: 4, vocabulary: ""),
            .init(name: "x", offset: 4, cardinality: 1, vocabulary: "", kind: "numeric", mean: 0, stddev: 1),
            .init(name: "g", offset: 5, cardinality: 3, vocabulary: "", kind: "multi"),
        ]
        var manifest = DatasetManifest(
            tool: ToolInfo.name, name: "sparse-labelled", definition: nil, seed: 1, negativeRule: nil, inputs: [], counts: counts,
            labels: .init(positive: 1, negative: 0), layout: .sparse, fields: fields, featureCount: 8, files: [], shards: shards)
        manifest.label = .init(column: "label", type: "binary", minimum: 0, maximum: 1, mean: 0.5, atMaximum: counts.instances / 2)
        try manifest.write(to: directory)
    }

    @Test func logLossTrainingOnRaggedWeightedRowsReportsAUCAndLogLoss() throws {
        let dir = temporaryDirectory()
        defer { FileSystem.remove(dir) }
        try Self.writeSparseDataset(directory: dir)
        let dataset = try Dataset.load(directory: dir)
        func train(_ kind: ModelKind) throws -> SplitMetrics {
            var options = TrainingOptions()
            options.epochs = 25
            options.batchSize = 16
            options.seed = 5
            options.learningRate = 0.1
            options.earlyStop = false
            let config = ModelConfig(
                kind: kind, featureCount: 8, factors: kind == .lr ? 0 : 4, biDropout: 0, batchNorm: false, loss: .log)
            let result = try Trainer(dataset: dataset, config: config, options: options).run()
            return try #require(result.records.last).validation
        }
        let fm = try train(.fm)
        let lr = try train(.lr)
        let (fmAUC, fmLogLoss) = (try #require(fm.auc), try #require(fm.logLoss))
        #expect(fm.rmse == nil)
        // The FM learns the value-weighted interaction; the linear model cannot.
        #expect(fmAUC > 0.9, "FM validation AUC \(fmAUC)")
        #expect(fmLogLoss < 0.45, "FM validation log loss \(fmLogLoss)")
        #expect(try #require(lr.auc) < fmAUC - 0.15, "LR AUC \(lr.auc ?? 0) vs FM \(fmAUC)")
    }

    /// Ragged, weighted rows (sparse layout: row offsets, values ≠ 1) give the same metrics and the same
    /// parameters on 1, 2 and 3 threads, every job on the pool (batch 45: row blocks of 32 and 13).
    @Test(arguments: [ModelKind.nfm, .fm, .hofm])
    func threadCountNeverChangesRaggedTraining(_ kind: ModelKind) throws {
        let dir = temporaryDirectory()
        defer { FileSystem.remove(dir) }
        try Self.writeSparseDataset(directory: dir)
        let dataset = try Dataset.load(directory: dir)
        var runs: [(metrics: [SplitMetrics], parameters: [[Float]])] = []
        for threads in 1...3 {
            var options = TrainingOptions()
            options.epochs = 2
            options.batchSize = 45
            options.earlyStop = false
            options.threads = threads
            options.minimumParallelCost = 0
            let config = ModelConfig(kind: kind, featureCount: 8, factors: 4, layers: kind == .nfm ? [4] : nil, loss: .log)
            let result = try Trainer(dataset: dataset, config: config, options: options).run()
            runs.append((result.records.map(\.validation), result.bestModel.namedTensors.map(\.buffer.array)))
        }
        #expect(runs[0].metrics.allSatisfy { $0.logLoss?.isFinite ?? false })
        #expect(runs.allSatisfy { $0.metrics == runs[0].metrics && $0.parameters == runs[0].parameters })
    }
}
