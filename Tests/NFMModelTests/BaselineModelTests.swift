import Foundation
import NFMFormat
import NFMKernels
import Testing

@testable import NFMModel

/// Wide&Deep, DeepCross and HOFM: parameter counts against the paper, pre-training, checkpoints, learning.
@Suite struct BaselineModelTests {
    /// Frappe's field cardinalities (SPEC §2): 5,382 features in 10 fields.
    static let frappeFields = [957, 4_082, 7, 7, 2, 3, 2, 9, 80, 233]

    func parameters(_ kind: ModelKind, k: Int) -> Int {
        let config = ModelConfig(
            kind: kind, featureCount: 5_382, factors: k, batchNorm: false,
            fieldSizes: kind.concatenatesFields ? Self.frappeFields : nil)
        return Model(config: config).trainableParameterCount
    }

    @Test func parameterCountsMatchThePapersTable3OnFrappe() {
        // Exact counts (k = 128 / 256): HOFM 1 + 5382·(1 + 2k); Wide&Deep 1 + 5382·(1 + k) + MLP (10k → 1024 →
        // 512 → 256 → 1, with biases); DeepCross 5382k + 5 residual units on 10k + output unit + bias.
        #expect(parameters(.hofm, k: 128) == 1 + 5_382 * 257)
        #expect(parameters(.wideDeep, k: 128) == 1 + 5_382 * 129 + (1_280 * 1_024 + 1_024) + (1_024 * 512 + 512) + (512 * 256 + 256) + 256)
        #expect(parameters(.deepCross, k: 128) == 5_382 * 128 + 2 * 1_280 * 1_472 + 1_472 + 5 * 1_280 + 1_280 + 1)
        // The paper's Table 3 (Frappe), in millions, rounded to two decimals.
        let paper: [(ModelKind, Int, Double)] = [
            (.hofm, 128, 1.38), (.wideDeep, 128, 2.66), (.deepCross, 128, 4.47),
            (.hofm, 256, 2.76), (.wideDeep, 256, 4.66), (.deepCross, 256, 8.93),
        ]
        for (kind, k, millions) in paper {
            let ours = Double(parameters(kind, k: k)) / 1e6
            #expect(abs(ours - millions) < 0.005, "\(kind) k=\(k): \(ours)M vs the paper's \(millions)M")
        }
        // FM for comparison: 1 + 5382·(1 + k), the paper's 0.69M at k = 128.
        #expect(abs(Double(parameters(.fm, k: 128)) / 1e6 - 0.69) < 0.005)
    }

    @Test func defaultLayersAreThePapers() {
        #expect(ModelConfig(kind: .wideDeep, featureCount: 9, fieldSizes: [3, 3, 3]).layers == [1_024, 512, 256])
        #expect(ModelConfig(kind: .deepCross, featureCount: 9, fieldSizes: [3, 3, 3]).layers == [512, 512, 256, 128, 64])
        #expect(ModelConfig(kind: .deepCross, featureCount: 9, layers: [], fieldSizes: [3, 3, 3]).layers == [512, 512, 256, 128, 64])
        #expect(ModelConfig(kind: .wideDeep, featureCount: 9, layers: [32, 16], fieldSizes: [3, 3, 3]).layers == [32, 16])
        #expect(ModelConfig(kind: .nfm, featureCount: 9).layers == [64])
        #expect(ModelConfig(kind: .hofm, featureCount: 9, layers: [64]).layers == [])
        #expect(ModelKind(rawValue: "wide-deep") == .wideDeep)
        #expect(ModelKind(rawValue: "deep-cross") == .deepCross)
        #expect(ModelKind(rawValue: "hofm") == .hofm)
    }

    @Test func initialisationFollowsTheAuthors() {
        let config = ModelConfig(kind: .deepCross, featureCount: 300, factors: 16, layers: [64, 32], fieldSizes: [100, 200])
        let model = Model(config: config)
        model.initialize(seed: 3)
        let e = model.embeddings.array
        let std = (e.reduce(0.0) { $0 + Double($1 * $1) } / Double(e.count)).squareRoot()
        #expect(abs(std - 0.01) < 0.001)
        #expect(model.bias[0] == 0)
        let w = model.residuals[0].weight1.array
        let wStd = (w.reduce(0.0) { $0 + Double($1 * $1) } / Double(w.count)).squareRoot()
        #expect(abs(wStd - (2.0 / Double(32 + 64)).squareRoot()) < 0.01)
        let hofm = Model(config: ModelConfig(kind: .hofm, featureCount: 300, factors: 16))
        hofm.initialize(seed: 3)
        let q = hofm.embeddings3.array
        #expect(abs((q.reduce(0.0) { $0 + Double($1 * $1) } / Double(q.count)).squareRoot() - 0.01) < 0.001)
        #expect(q != hofm.embeddings.array)
        #expect(hofm.linear.array.allSatisfy { $0 == 0 })
    }

    // MARK: datasets

    static let cards = [7, 5, 9]

    func writeSmall(_ dir: String) throws {
        try writeDataset(
            directory: dir, cardinalities: Self.cards,
            splits: [
                .train: randomRows(count: 200, cardinalities: Self.cards, seed: 1),
                .validation: randomRows(count: 100, cardinalities: Self.cards, seed: 2),
                .test: randomRows(count: 50, cardinalities: Self.cards, seed: 3),
            ])
    }

    func config(_ kind: ModelKind, k: Int = 8) -> ModelConfig {
        ModelConfig(
            kind: kind, featureCount: 21, factors: k, layers: kind == .deepCross ? [8, 6] : [16, 8], biDropout: 0.2,
            hiddenDropout: [0.1], batchNorm: kind == .wideDeep)
    }

    @Test(arguments: [ModelKind.wideDeep, .deepCross, .hofm])
    func checkpointRoundTripsAndEvaluatesIdentically(kind: ModelKind) throws {
        let dir = temporaryDirectory(), out = temporaryDirectory("out")
        defer { FileSystem.remove(dir); FileSystem.remove(out) }
        try writeSmall(dir)
        var o = TrainingOptions()
        o.epochs = 2
        o.batchSize = 32
        o.outDirectory = out
        let trainer = try Trainer(dataset: try Dataset.load(directory: dir), config: config(kind), options: o)
        #expect(trainer.config.fieldSizes == (kind == .hofm ? nil : Self.cards))
        let result = try trainer.run()
        let path = try #require(result.checkpointPath)
        let bytes = try ReadableFile.readAll(path)
        #expect(bytes.readLittleEndian(UInt32.self, at: 8) == 2)  // format version 2 for the new kinds
        let loaded = try Checkpoint.load(path: path)
        #expect(loaded.model.config == result.bestModel.config)
        #expect(loaded.model.config.kind == kind)
        #expect(loaded.model.namedTensors.map(\.name) == result.bestModel.namedTensors.map(\.name))
        for (a, b) in zip(loaded.model.namedTensors, result.bestModel.namedTensors) {
            #expect(a.buffer.array == b.buffer.array, "\(a.name)")
        }
        let evaluation = try Evaluation.run(checkpointPath: path, datasetDirectory: dir, threads: 2)
        let best = result.records[result.bestEpoch - 1]
        #expect(evaluation.splits["validation"]?.rmse == best.validation.rmse)
        #expect(evaluation.splits["test"]?.rmse == best.test.rmse)
    }

    @Test func olderFormatLoadsAndNewerFormatIsRefused() throws {
        let dir = temporaryDirectory(), out = temporaryDirectory("out")
        defer { FileSystem.remove(dir); FileSystem.remove(out) }
        try writeSmall(dir)
        var o = TrainingOptions()
        o.epochs = 1
        o.outDirectory = out
        let result = try Trainer(
            dataset: try Dataset.load(directory: dir), config: ModelConfig(kind: .fm, featureCount: 21, factors: 8, batchNorm: false),
            options: o
        ).run()
        let path = try #require(result.checkpointPath)
        var bytes = try ReadableFile.readAll(path)
        // NFM, FM and LR checkpoints are still written as version 1, which this build reads.
        #expect(bytes.readLittleEndian(UInt32.self, at: 8) == 1)
        #expect(try Checkpoint.load(path: path).model.config.kind == .fm)
        bytes[8] = 3
        try FileSystem.writeAtomically(bytes, to: path)
        let error = try #require(throws: ModelError.self) { try Checkpoint.load(path: path) }
        #expect(error.message.contains("unsupported checkpoint version 3"))
    }

    @Test func pretrainingCopiesTheFMParameters() throws {
        let dir = temporaryDirectory(), out = temporaryDirectory("out")
        defer { FileSystem.remove(dir); FileSystem.remove(out) }
        try writeSmall(dir)
        let dataset = try Dataset.load(directory: dir)
        var o = TrainingOptions()
        o.epochs = 2
        o.outDirectory = out
        let fm = try Trainer(dataset: dataset, config: ModelConfig(kind: .fm, featureCount: 21, factors: 8, batchNorm: false), options: o).run()
        let fmModel = fm.bestModel
        #expect(fmModel.bias[0] != 0)
        var p = TrainingOptions()
        p.initFrom = fm.checkpointPath
        for kind in [ModelKind.wideDeep, .deepCross, .hofm] {
            let scratch = try Trainer(dataset: dataset, config: config(kind), options: TrainingOptions())
            let trainer = try Trainer(dataset: dataset, config: config(kind), options: p)
            let model = trainer.model
            #expect(model.embeddings.array == fmModel.embeddings.array, "\(kind)")
            #expect(scratch.model.embeddings.array != fmModel.embeddings.array, "\(kind)")
            #expect(model.bias[0] == fmModel.bias[0], "\(kind)")
            if kind.hasLinearPart {
                #expect(model.linear.array == fmModel.linear.array, "\(kind)")
            } else {
                #expect(model.linear.count == 0)
            }
            // The layers keep their own (seeded) initialisation.
            for (a, b) in zip(model.namedTensors, scratch.model.namedTensors)
            where !["bias", "linear", "embeddings"].contains(a.name) {
                #expect(a.buffer.array == b.buffer.array, "\(kind) \(a.name)")
            }
            // The trained model starts from the FM: its first forward pass equals the FM's linear part
            // plus (HOFM) the FM's pairwise term, up to HOFM's small order-3 term.
            if kind == .hofm {
                let fmPredictions = Predictor(model: fmModel, threads: 1).predict(dataset[.validation]!)
                model.embeddings3.fill(0)
                model.prepareInference()
                let hofmPredictions = Predictor(model: model, threads: 1).predict(dataset[.validation]!)
                for (a, b) in zip(fmPredictions, hofmPredictions) { #expect(abs(a - b) < 1e-5) }
            }
        }
        // Another k is refused.
        var wrongK = TrainingOptions()
        wrongK.initFrom = fm.checkpointPath
        let error = try #require(throws: ModelError.self) {
            try Trainer(dataset: dataset, config: config(.wideDeep, k: 16), options: wrongK)
        }
        #expect(error.message.contains("k=8"))
    }

    @Test func concatenatingModelsRefuseDataWithoutFields() throws {
        let dir = temporaryDirectory()
        defer { FileSystem.remove(dir) }
        // A libFM-style import: sparse layout with values, no fields.
        var shards: [DatasetManifest.Shard] = []
        var counts = DatasetManifest.Counts()
        for split in Split.allCases {
            let writer = try ShardWriter(directory: dir, split: split, layout: .sparse, fieldCount: 0, rowsPerShard: 64, level: 1, threads: 1)
            for r in 0..<20 { try writer.append(label: r % 2 == 0 ? 1 : -1, indices: [UInt32(r % 5), UInt32(5 + r % 4)], values: [1, 0.5]) }
            shards += try writer.finish()
            switch split {
            case .train: counts.train = 20
            case .validation: counts.validation = 20
            case .test: counts.test = 20
            }
        }
        let manifest = DatasetManifest(
            tool: ToolInfo.name, name: "libfm", definition: nil, seed: 1, negativeRule: nil, inputs: [], counts: counts,
            labels: .init(positive: 1, negative: -1), layout: .sparse, fields: [], featureCount: 9, files: [], shards: shards)
        try manifest.write(to: dir)
        let dataset = try Dataset.load(directory: dir)
        for kind in [ModelKind.wideDeep, .deepCross] {
            let error = try #require(throws: ModelError.self) {
                try Trainer(dataset: dataset, config: ModelConfig(kind: kind, featureCount: 9, factors: 4), options: TrainingOptions())
            }
            #expect(error.code == .configuration)
            #expect(error.message.contains("no fixed fields"))
            #expect(error.message.contains(kind.rawValue))
        }
        // HOFM needs no fields.
        var o = TrainingOptions()
        o.epochs = 1
        #expect(throws: Never.self) {
            try Trainer(dataset: dataset, config: ModelConfig(kind: .hofm, featureCount: 9, factors: 4), options: o).run()
        }
    }

    // MARK: learning

    /// Three fields of 4 values; the label is the product of the values' signs (s = +1 for even indices, −1
    /// for odd): a pure three-way interaction that no pairwise model represents, and HOFM does exactly
    /// (qᵢ = c·sᵢ gives A³ = c³·s_a s_b s_c).
    func threeWayRows(repeats: Int) -> [(label: Float, features: [UInt32])] {
        var rows: [(label: Float, features: [UInt32])] = []
        for _ in 0..<repeats {
            for a in 0..<4 {
                for b in 0..<4 {
                    for c in 0..<4 {
                        rows.append(((a + b + c) % 2 == 0 ? 1 : -1, [UInt32(a), UInt32(4 + b), UInt32(8 + c)]))
                    }
                }
            }
        }
        return rows
    }

    @Test func hofmLearnsAThreeWayInteractionThatFMCannot() throws {
        let dir = temporaryDirectory()
        defer { FileSystem.remove(dir) }
        try writeDataset(
            directory: dir, cardinalities: [4, 4, 4],
            splits: [.train: threeWayRows(repeats: 8), .validation: threeWayRows(repeats: 1), .test: threeWayRows(repeats: 1)])
        let dataset = try Dataset.load(directory: dir)
        var o = TrainingOptions()
        o.epochs = 60
        o.batchSize = 16
        o.earlyStop = false
        o.learningRate = 0.1
        let hofm = try Trainer(dataset: dataset, config: ModelConfig(kind: .hofm, featureCount: 12, factors: 4, biDropout: 0), options: o).run()
        let fm = try Trainer(dataset: dataset, config: ModelConfig(kind: .fm, featureCount: 12, factors: 4, biDropout: 0, batchNorm: false), options: o).run()
        let hofmBest = hofm.records.map { $0.validation.rmse! }.min()!
        let fmBest = fm.records.map { $0.validation.rmse! }.min()!
        #expect(hofmBest < 0.2, "HOFM \(hofmBest)")
        #expect(fmBest > 0.9, "FM \(fmBest)")
    }

    @Test(arguments: [ModelKind.wideDeep, .deepCross])
    func deepModelsLearnTheParityProblem(kind: ModelKind) throws {
        let dir = temporaryDirectory()
        defer { FileSystem.remove(dir) }
        try writeDataset(directory: dir, cardinalities: [4, 4], splits: [.train: parityRows(repeats: 40), .validation: parityRows(repeats: 2), .test: parityRows(repeats: 1)])
        let dataset = try Dataset.load(directory: dir)
        var o = TrainingOptions()
        o.epochs = 30
        o.batchSize = 16
        o.earlyStop = false
        o.learningRate = 0.1
        let config = ModelConfig(kind: kind, featureCount: 8, factors: 4, layers: [16, 8], biDropout: 0, hiddenDropout: [0], batchNorm: false)
        let result = try Trainer(dataset: dataset, config: config, options: o).run()
        #expect(result.records.map { $0.validation.rmse! }.min()! < 0.2)
    }
}
