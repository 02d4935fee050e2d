import Foundation
import NFMFormat
import NFMKernels
import Testing

@testable import NFMModel

/// Option bounds, divergence, run-directory ownership and the library's model defaults.
@Suite struct TrainingSafetyTests {
    /// A small parity dataset in a fresh directory.
    func parityDataset(name: String = "synthetic", labels: DatasetManifest.Labels = .init(positive: 1, negative: -1)) throws
        -> (directory: String, dataset: Dataset)
    {
        let dir = temporaryDirectory()
        var rows = parityRows(repeats: 8)
        if labels.negative == 0 { rows = rows.map { ($0.label > 0 ? 1 : 0, $0.features) } }
        try writeDataset(
            directory: dir, cardinalities: [4, 4], splits: [.train: rows, .validation: rows, .test: rows], labels: labels,
            name: name)
        return (dir, try Dataset.load(directory: dir))
    }

    func options(epochs: Int = 2, lr: Float? = nil, optimizer: OptimizerKind = .adagrad) -> TrainingOptions {
        var o = TrainingOptions()
        o.epochs = epochs
        o.batchSize = 16
        o.learningRate = lr
        o.optimizer = optimizer
        o.earlyStop = false
        return o
    }

    func expectError(_ code: NFMError.Code, field: String? = nil, saying text: String? = nil, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected \(code)")
        } catch let error as NFMError {
            #expect(error.code == code, "\(error)")
            if let field { #expect(error.position?.field == field, "\(error)") }
            if let text { #expect(error.message.contains(text), "\(error)") }
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func optionsBeyondTheirBoundsAreConfigurationErrors() {
        let cases: [(String, (inout TrainingOptions) -> Void)] = [
            ("--batch-size", { $0.batchSize = 100_000_000 }), ("--batch-size", { $0.batchSize = 1 << 62 }),
            ("--batch-size", { $0.batchSize = 0 }), ("--epochs", { $0.epochs = 1 << 62 }), ("--epochs", { $0.epochs = 0 }),
            ("--patience", { $0.patience = 100_000_000 }), ("--threads", { $0.threads = 1 << 62 }),
            ("--threads", { $0.threads = 0 }), ("--shuffle-buffer", { $0.shuffleBuffer = 1 << 62 }),
            ("--lr", { $0.learningRate = .infinity }), ("--lr", { $0.learningRate = .nan }), ("--l2", { $0.l2 = -1 }),
        ]
        for (field, change) in cases {
            var o = TrainingOptions()
            change(&o)
            expectError(.configuration, field: field) { try o.validate() }
        }
        #expect(throws: Never.self) { try TrainingOptions().validate() }
    }

    @Test func modelSizesBeyondTheirBoundsAreConfigurationErrors() {
        expectError(.configuration, field: "--factors") { try ModelConfig(kind: .fm, featureCount: 10, factors: 1 << 62).validate() }
        expectError(.configuration, field: "--factors") { try ModelConfig(kind: .nfm, featureCount: 10, factors: 100_000_000).validate() }
        expectError(.configuration, field: "--layers") { try ModelConfig(kind: .nfm, featureCount: 10, layers: [100_000_000]).validate() }
        expectError(.configuration, field: "--layers") { try ModelConfig(kind: .nfm, featureCount: 10, layers: [1 << 62]).validate() }
        expectError(.configuration) { try ModelConfig(kind: .nfm, featureCount: 10, layers: Array(repeating: 8, count: 100)).validate() }
        // Within every per-option bound, but 2^40 features × k=4096 overflows the parameter limit (no trap).
        expectError(.configuration) { try ModelConfig(kind: .hofm, featureCount: 1 << 40, factors: 4096).validate() }
        expectError(.configuration) { try ModelConfig(kind: .nfm, featureCount: Int.max, factors: 4096).validate() }
        #expect(throws: Never.self) { try ModelConfig(kind: .nfm, featureCount: 5382).validate() }
    }

    @Test func aBatchTooLargeForItsScratchMemoryIsRefused() throws {
        let (dir, dataset) = try parityDataset()
        defer { FileSystem.remove(dir) }
        var o = options()
        o.batchSize = TrainingLimits.maxBatchSize
        let config = ModelConfig(kind: .nfm, featureCount: 8, factors: 64, layers: [16384, 16384])
        expectError(.configuration, field: "--batch-size") { _ = try Trainer(dataset: dataset, config: config, options: o) }
    }

    @Test func libraryDefaultsAreTheCommandLinesDefaults() {
        for kind in ModelKind.allCases {
            let defaults = ModelDefaults.of(kind)
            let config = ModelConfig(kind: kind, featureCount: 100)
            #expect(config.layers == defaults.layers)
            #expect(config.biDropout == defaults.biDropout)
            #expect(config.hiddenDropout == config.layers.map { _ in defaults.hiddenDropout.last ?? 0 })
            #expect(config.batchNorm == defaults.batchNorm)
            #expect(config.factors == defaults.factors)
        }
        // A library FM is the FM of `nfm train --model fm`: dropout 0.5, no batch norm.
        let fm = ModelConfig(kind: .fm, featureCount: 100)
        #expect(fm.batchNorm == false && fm.biDropout == 0.5)
        let nfm = ModelConfig(kind: .nfm, featureCount: 100)
        #expect(nfm.batchNorm && nfm.layers == [64] && nfm.hiddenDropout == [0.2])
        #expect(ModelDefaults.learningRate(.wideDeep, optimizer: .adagrad) == 0.01)
        #expect(ModelDefaults.learningRate(.nfm, optimizer: .adagrad) == 0.05)
        #expect(ModelDefaults.learningRate(.deepCross, optimizer: .adam) == 0.001)
        #expect(TrainingOptions().resolvedLearningRate(for: .deepCross) == 0.01)
    }

    @Test func aRunThatBlowsUpFailsAsDiverged() throws {
        let (dir, dataset) = try parityDataset()
        defer { FileSystem.remove(dir) }
        let config = ModelConfig(kind: .nfm, featureCount: 8, factors: 4, layers: [4], biDropout: 0, hiddenDropout: [0], batchNorm: false)
        let out = dir + "-run"
        defer { FileSystem.remove(out) }
        var o = options(epochs: 3, lr: 1e30, optimizer: .sgd)
        o.outDirectory = out
        expectError(.diverged, saying: "diverged at epoch 1: the training loss is NaN") { _ = try Trainer(dataset: dataset, config: config, options: o).run() }
        // The partial run directory is removed.
        #expect(!FileSystem.exists(out))
    }

    @Test func aSaturatingLogLossRunFailsAsDiverged() throws {
        let (dir, dataset) = try parityDataset(labels: .init(positive: 1, negative: 0))
        defer { FileSystem.remove(dir) }
        let config = ModelConfig(kind: .fm, featureCount: 8, factors: 4, biDropout: 0, loss: .log)
        expectError(.diverged, saying: "diverged at epoch 1: the training loss is NaN") {
            _ = try Trainer(dataset: dataset, config: config, options: options(epochs: 3, lr: 1e30, optimizer: .sgd)).run()
        }
    }

    @Test func nonFinitePredictionsMakeTheMetricNaN() {
        let squared = Metrics.compute(predictions: [0.5, .infinity], labels: [1, -1], loss: .squared, labelRange: -1...1, positive: 1)
        #expect(squared.rmse!.isNaN)
        let log = Metrics.compute(predictions: [.nan, 1], labels: [1, 0], loss: .log, labelRange: 0...1, positive: 1)
        #expect(log.logLoss!.isNaN)
    }

    /// A trained checkpoint with one weight overwritten by NaN.
    func poisonedCheckpoint(_ dir: String, _ dataset: Dataset) throws -> String {
        let config = ModelConfig(kind: .fm, featureCount: 8, factors: 4)
        let trainer = try Trainer(dataset: dataset, config: config, options: options(epochs: 1))
        let model = try trainer.run().bestModel
        let embeddings = try #require(model.namedTensors.first { $0.name == "embeddings" })
        embeddings.buffer[3] = .nan
        let path = dir + "-nan.nfmc"
        try Checkpoint(model: model, dataset: trainer.fingerprint, training: nil, definition: nil, vocabularies: []).write(to: path)
        return path
    }

    @Test func aCheckpointWithNaNWeightsIsRefusedByEvaluationAndPretraining() throws {
        let (dir, dataset) = try parityDataset()
        defer { FileSystem.remove(dir) }
        let path = try poisonedCheckpoint(dir, dataset)
        defer { FileSystem.remove(path) }
        expectError(.diverged) { _ = try Evaluation.run(checkpointPath: path, datasetDirectory: dir, threads: 1) }
        var o = options()
        o.initFrom = path
        expectError(.diverged) { _ = try Trainer(dataset: dataset, config: ModelConfig(kind: .nfm, featureCount: 8, factors: 4), options: o) }
    }

    @Test func earlyStoppingCountsWorseningEpochsInARow() {
        var stopping = EarlyStopping(patience: 2, enabled: true)
        let metrics = [0.5, 0.4, 0.45, 0.42, 0.43, 0.44]
        let decisions = metrics.enumerated().map { stopping.record(epoch: $0.offset + 1, metric: $0.element) }
        #expect(decisions.map(\.isBest) == [true, true, false, false, false, false])
        #expect(decisions.map(\.stop) == [false, false, false, false, false, true])
        #expect(stopping.best?.epoch == 2)
        var off = EarlyStopping(patience: 1, enabled: false)
        #expect(!off.record(epoch: 1, metric: 1).stop && !off.record(epoch: 2, metric: 2).stop)
    }
}

/// The run directory: one owner for model, metrics, curve and summary.
@Suite struct RunDirectoryTests {
    func dataset(name: String = "synthetic") throws -> (String, Dataset) {
        let dir = temporaryDirectory()
        try writeDataset(
            directory: dir, cardinalities: [4, 4], splits: [.train: parityRows(repeats: 4), .validation: parityRows(repeats: 1)],
            name: name)
        return (dir, try Dataset.load(directory: dir))
    }

    func refusal(_ body: () throws -> Void) -> NFMError.Code? {
        do {
            try body()
            return nil
        } catch {
            return (error as? NFMError)?.code
        }
    }

    @Test func aRunWritesModelMetricsCurveAndSummary() throws {
        let (dir, data) = try dataset()
        defer { FileSystem.remove(dir) }
        let out = dir + "-run"
        defer { FileSystem.remove(out) }
        var o = TrainingOptions()
        o.epochs = 3
        o.patience = 2
        let trainer = try Trainer(dataset: data, config: ModelConfig(kind: .fm, featureCount: 8, factors: 4), options: o)
        let run = try RunDirectory.claim(out, force: false, inputs: [dir])
        let result = try trainer.run(in: run)
        run.commit()
        for name in ["model.nfmc", "metrics.csv", "curve.svg", "summary.json", OutputDirectory.markerName] {
            #expect(FileSystem.exists(out + "/" + name), "\(name)")
        }
        let summary = try JSONSerialization.jsonObject(with: Data(ReadableFile.readAll(out + "/summary.json"))) as? [String: Any]
        #expect(summary?["epochLimit"] as? Int == 3)
        #expect(summary?["patience"] as? Int == 2)
        #expect(summary?["earlyStop"] as? Bool == true)
        #expect(result.checkpointPath == out + "/model.nfmc")
        let curve = String(decoding: try ReadableFile.readAll(out + "/curve.svg"), as: UTF8.self)
        #expect(curve.contains("FM k=4") && curve.contains("on synthetic"))
    }

    @Test func aRunDirectoryIsNeverTheDatasetNorInsideItNorAnEarlierRunWithoutForce() throws {
        let (dir, _) = try dataset()
        defer { FileSystem.remove(dir) }
        #expect(refusal { _ = try RunDirectory.claim(dir, force: true, inputs: [dir]) } == .refused)
        #expect(refusal { _ = try RunDirectory.claim(dir + "/run", force: true, inputs: [dir]) } == .refused)
        #expect(FileSystem.exists(dir + "/manifest.json") && !FileSystem.exists(dir + "/run"))
        let out = dir + "-run"
        defer { FileSystem.remove(out) }
        let first = try RunDirectory.claim(out, force: false, inputs: [dir])
        try first.write(Array("x".utf8), to: "metrics.csv")
        first.commit()
        first.close()
        #expect(refusal { _ = try RunDirectory.claim(out, force: false, inputs: [dir]) } == .refused)
        #expect(FileSystem.exists(out + "/metrics.csv"))
        let again = try RunDirectory.claim(out, force: true, inputs: [dir])
        again.close()
        #expect(!FileSystem.exists(out + "/metrics.csv"))
        // A directory nfm did not write is never replaced.
        let foreign = dir + "-foreign"
        defer { FileSystem.remove(foreign) }
        try FileSystem.createDirectory(foreign)
        try FileSystem.writeAtomically(Array("keep".utf8), to: foreign + "/notes.txt")
        #expect(refusal { _ = try RunDirectory.claim(foreign, force: true, inputs: [dir]) } == .refused)
        #expect(FileSystem.exists(foreign + "/notes.txt"))
    }

    @Test func defaultRunNamesStayInsideRuns() {
        #expect(RunDirectory.defaultPath(datasetName: "../../escaped", model: .nfm) == "runs/.._.._escaped-nfm")
        #expect(RunDirectory.defaultPath(datasetName: "frappe", model: .wideDeep) == "runs/frappe-wide-deep")
        #expect(!RunDirectory.defaultPath(datasetName: "a/b", model: .fm).dropFirst(5).contains("/"))
    }
}
