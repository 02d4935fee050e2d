import Foundation
import NFMFormat
import NFMKernels
import Testing

@testable import NFMModel

@Suite struct TrainingTests {
    func options(epochs: Int, seed: UInt64 = 7, lr: Float? = nil, out: String? = nil) -> TrainingOptions {
        var o = TrainingOptions()
        o.epochs = epochs
        o.batchSize = 16
        o.seed = seed
        o.learningRate = lr
        o.earlyStop = false
        o.outDirectory = out
        return o
    }

    @Test func fmLearnsTheParityProblemAndLRCannot() throws {
        let dir = temporaryDirectory()
        defer { FileSystem.remove(dir) }
        let rows = parityRows(repeats: 20)
        try writeDataset(directory: dir, cardinalities: [4, 4], splits: [.train: rows, .validation: parityRows(repeats: 2), .test: parityRows(repeats: 1)])
        let dataset = try Dataset.load(directory: dir)
        let fm = ModelConfig(kind: .fm, featureCount: 8, factors: 4, biDropout: 0, batchNorm: false)
        let fmResult = try Trainer(dataset: dataset, config: fm, options: options(epochs: 60, lr: 0.1)).run()
        let fmBest = fmResult.records[fmResult.bestEpoch - 1].validation.rmse!
        #expect(fmBest < 0.1)
        let lr = ModelConfig(kind: .lr, featureCount: 8)
        let lrResult = try Trainer(dataset: dataset, config: lr, options: options(epochs: 30, lr: 0.1)).run()
        // The best linear model predicts 0 everywhere: RMSE 1.
        #expect(lrResult.records.map { $0.validation.rmse! }.min()! > 0.9)
    }

    @Test func nfmLearnsTheParityProblem() throws {
        let dir = temporaryDirectory()
        defer { FileSystem.remove(dir) }
        try writeDataset(directory: dir, cardinalities: [4, 4], splits: [.train: parityRows(repeats: 40), .validation: parityRows(repeats: 2), .test: parityRows(repeats: 1)])
        let dataset = try Dataset.load(directory: dir)
        let config = ModelConfig(kind: .nfm, featureCount: 8, factors: 8, layers: [8], biDropout: 0.1, hiddenDropout: [0.1])
        let result = try Trainer(dataset: dataset, config: config, options: options(epochs: 40, lr: 0.05)).run()
        #expect(result.records.map { $0.validation.rmse! }.min()! < 0.2)
    }

    @Test func logLossTrainingSeparatesTheClasses() throws {
        let dir = temporaryDirectory()
        defer { FileSystem.remove(dir) }
        let rows = parityRows(repeats: 20).map { (label: $0.label > 0 ? Float(1) : 0, features: $0.features) }
        try writeDataset(
            directory: dir, cardinalities: [4, 4], splits: [.train: rows, .validation: Array(rows.prefix(32)), .test: Array(rows.prefix(16))],
            labels: .init(positive: 1, negative: 0))
        let dataset = try Dataset.load(directory: dir)
        let config = ModelConfig(kind: .fm, featureCount: 8, factors: 4, biDropout: 0, batchNorm: false, loss: .log)
        let result = try Trainer(dataset: dataset, config: config, options: options(epochs: 40, lr: 0.1)).run()
        let last = result.records.last!.validation
        #expect(last.auc! > 0.99)
        #expect(last.logLoss! < 0.2)
    }

    @Test func nfmZeroWithUnitPredictionIsExactlyFM() throws {
        let featureCount = 15
        let fm = Model(config: ModelConfig(kind: .fm, featureCount: featureCount, factors: 12, biDropout: 0.5, batchNorm: false))
        let nfm0 = Model(config: ModelConfig(kind: .nfm, featureCount: featureCount, factors: 12, layers: [], biDropout: 0.5, batchNorm: false))
        randomize(fm, seed: 3)
        fm.prediction.fill(1)  // FM's h is fixed to ones (never trained)
        #expect(fm.namedTensors.map(\.name) == nfm0.namedTensors.map(\.name))
        nfm0.copyParameters(from: fm)
        nfm0.prediction.fill(1)
        let data = randomRows(count: 40, cardinalities: [5, 4, 6], seed: 4)
        let indices = data.flatMap(\.features)
        var random = Xoshiro256(seed: 0)
        let a = Workspace(model: fm, capacity: 40), b = Workspace(model: nfm0, capacity: 40)
        indices.withUnsafeBufferPointer { idx in
            let x = SparseRows(rowCount: 40, fieldCount: 3, indices: idx.baseAddress!)
            fm.forward(x, workspace: a, training: false, random: &random)
            nfm0.forward(x, workspace: b, training: false, random: &random)
        }
        for r in 0..<40 {
            #expect(a.predictions[r] == b.predictions[r])
            // Rendle's FM: w₀ + Σ wᵢ + Σ_{i<j} ⟨vᵢ, vⱼ⟩.
            let f = data[r].features.map(Int.init)
            var expected = Double(fm.bias[0]) + f.reduce(0.0) { $0 + Double(fm.linear[$1]) }
            for i in 0..<f.count {
                for j in (i + 1)..<f.count {
                    for c in 0..<12 { expected += Double(fm.embeddings[f[i] * 12 + c]) * Double(fm.embeddings[f[j] * 12 + c]) }
                }
            }
            #expect(abs(Double(a.predictions[r]) - expected) < 1e-4)
        }
    }

    @Test func sameSeedGivesIdenticalMetricsAndAnotherSeedDoesNot() throws {
        let dir = temporaryDirectory()
        defer { FileSystem.remove(dir) }
        let cards = [7, 5, 9]
        try writeDataset(
            directory: dir, cardinalities: cards,
            splits: [.train: randomRows(count: 700, cardinalities: cards, seed: 1), .validation: randomRows(count: 300, cardinalities: cards, seed: 2), .test: randomRows(count: 200, cardinalities: cards, seed: 3)])
        let dataset = try Dataset.load(directory: dir)
        let config = ModelConfig(kind: .nfm, featureCount: 21, factors: 16, layers: [16])
        func metrics(seed: UInt64, threads: Int) throws -> [[Double?]] {
            var o = options(epochs: 3, seed: seed)
            o.threads = threads
            return try Trainer(dataset: dataset, config: config, options: o).run().records.map {
                [$0.trainLoss, $0.train.rmse, $0.validation.rmse, $0.test.rmse]
            }
        }
        let first = try metrics(seed: 5, threads: 2)
        #expect(first == (try metrics(seed: 5, threads: 2)))
        #expect(first == (try metrics(seed: 5, threads: 1)))
        #expect(first != (try metrics(seed: 6, threads: 2)))
    }

    @Test func earlyStoppingStopsAfterPatienceWorseningEpochsAndKeepsTheBest() throws {
        let dir = temporaryDirectory()
        defer { FileSystem.remove(dir) }
        let cards = [7, 5, 9]
        // Random labels: validation can only get worse once the model starts memorising.
        try writeDataset(
            directory: dir, cardinalities: cards,
            splits: [.train: randomRows(count: 300, cardinalities: cards, seed: 1), .validation: randomRows(count: 300, cardinalities: cards, seed: 2)])
        let dataset = try Dataset.load(directory: dir)
        let config = ModelConfig(kind: .nfm, featureCount: 21, factors: 16, layers: [16], biDropout: 0, hiddenDropout: [0])
        var o = options(epochs: 200, lr: 0.2)
        o.earlyStop = true
        o.patience = 2
        let result = try Trainer(dataset: dataset, config: config, options: o).run()
        #expect(result.stoppedEarly)
        let v = result.records.map { $0.validation.rmse! }
        let n = v.count
        #expect(n < 200)
        #expect(v[n - 1] > v[n - 2] && v[n - 2] > v[n - 3])
        #expect(result.bestEpoch == v.firstIndex(of: v.min()!)! + 1)
        // The returned model is the best epoch's.
        let predictor = Predictor(model: result.bestModel, threads: 1)
        let again = predictor.evaluate(dataset[.validation]!, labelRange: dataset.labelRange, positive: 1)
        #expect(again.rmse == v.min())
    }

    @Test func stopAtEndsTheRunAtTheFirstEpochThatReachesTheTarget() throws {
        let dir = temporaryDirectory()
        defer { FileSystem.remove(dir) }
        try writeDataset(
            directory: dir, cardinalities: [4, 4],
            splits: [.train: parityRows(repeats: 20), .validation: parityRows(repeats: 4), .test: parityRows(repeats: 2)])
        let dataset = try Dataset.load(directory: dir)
        let config = ModelConfig(kind: .fm, featureCount: 8, factors: 4, biDropout: 0)
        var o = options(epochs: 6, lr: 0.05)
        let all = try Trainer(dataset: dataset, config: config, options: o).run()
        #expect(all.records.count == 6)
        let target = all.records[2].validation.primary
        #expect(all.records[0].validation.primary > target && all.records[1].validation.primary > target)
        o.stopAt = target
        let stopped = try Trainer(dataset: dataset, config: config, options: o).run()
        #expect(stopped.records.count == 3)
        #expect(stopped.records.map(\.validation) == all.records.prefix(3).map(\.validation))
        let reached = try #require(stopped.summary.target)
        #expect(reached.epoch == 3 && reached.value == target)
        let cumulative = try #require(stopped.summary.timing.cumulativeTrainSeconds)
        #expect(cumulative.count == 3 && reached.trainSeconds == cumulative[2])
        #expect(abs(cumulative[2] - stopped.records.map(\.trainSeconds).reduce(0, +)) < 1e-9)
        o.stopAt = 1e-9
        let never = try Trainer(dataset: dataset, config: config, options: o).run()
        #expect(never.records.count == 6 && never.summary.target?.epoch == nil)
        o.stopAt = -1
        #expect(throws: NFMError.self) { try o.validate() }
    }

    @Test func metricsClipAndRank() {
        let m = Metrics.compute(predictions: [2, -3, 0], labels: [1, -1, 1], loss: .squared, labelRange: -1...1, positive: 1)
        #expect(abs(m.rmse! - (1.0 / 3).squareRoot()) < 1e-12)
        #expect(Metrics.auc(scores: [0.1, 0.4, 0.35, 0.8], positives: [false, false, true, true]) == 0.75)
        #expect(Metrics.auc(scores: [0.5, 0.5], positives: [false, true]) == 0.5)
        #expect(Metrics.auc(scores: [0.5], positives: [true]) == nil)
    }
}
