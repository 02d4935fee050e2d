import Foundation
import NFMFormat
import Testing

@testable import NFMModel

@Suite struct CheckpointTests {
    func trainSmall(_ dir: String, out: String) throws -> TrainingResult {
        let cards = [7, 5, 9]
        try writeDataset(
            directory: dir, cardinalities: cards,
            splits: [.train: randomRows(count: 200, cardinalities: cards, seed: 1), .validation: randomRows(count: 100, cardinalities: cards, seed: 2), .test: randomRows(count: 50, cardinalities: cards, seed: 3)])
        var o = TrainingOptions()
        o.epochs = 2
        o.batchSize = 32
        o.outDirectory = out
        let dataset = try Dataset.load(directory: dir)
        return try Trainer(dataset: dataset, config: ModelConfig(kind: .nfm, featureCount: 21, factors: 8, layers: [8]), options: o).run()
    }

    @Test func checkpointRoundTripsAndEvaluatesIdentically() throws {
        let dir = temporaryDirectory(), out = temporaryDirectory("out")
        defer { FileSystem.remove(dir); FileSystem.remove(out) }
        let result = try trainSmall(dir, out: out)
        let path = try #require(result.checkpointPath)
        let loaded = try Checkpoint.load(path: path)
        #expect(loaded.model.config == result.bestModel.config)
        for (a, b) in zip(loaded.model.namedTensors, result.bestModel.namedTensors) { #expect(a.buffer.array == b.buffer.array) }
        let evaluation = try Evaluation.run(checkpointPath: path, datasetDirectory: dir, threads: 2)
        #expect(evaluation.sameManifest)
        let best = result.records[result.bestEpoch - 1]
        #expect(evaluation.splits["validation"]?.rmse == best.validation.rmse)
        #expect(evaluation.splits["test"]?.rmse == best.test.rmse)
        for file in ["metrics.csv", "curve.svg"] { #expect(FileSystem.exists(out + "/" + file)) }
    }

    @Test(arguments: [100, 200, -1])
    func corruptedCheckpointFailsClearly(offset: Int) throws {
        let dir = temporaryDirectory(), out = temporaryDirectory("out")
        defer { FileSystem.remove(dir); FileSystem.remove(out) }
        let path = try #require(try trainSmall(dir, out: out).checkpointPath)
        var bytes = try ReadableFile.readAll(path)
        if offset < 0 {
            bytes.removeLast(10)  // truncated
        } else {
            bytes[bytes.count - offset] ^= 0x01  // one flipped bit in the tensors
        }
        try FileSystem.writeAtomically(bytes, to: path)
        let error = try #require(throws: ModelError.self) { try Checkpoint.load(path: path) }
        #expect(error.code == .checkpoint)
        #expect(error.position?.file == path)
        #expect(error.position?.field == (offset < 0 ? "headerBytes" : "sha256"))
        #expect(error.message.contains(offset < 0 ? "truncated" : "checksum"))
        #expect(throws: ModelError.self) { try Evaluation.run(checkpointPath: path, datasetDirectory: dir, threads: 1) }
    }

    @Test func notACheckpointFailsClearly() throws {
        let dir = temporaryDirectory()
        defer { FileSystem.remove(dir) }
        try FileSystem.writeAtomically(Array("hello, world — not a model at all".utf8) + [UInt8](repeating: 0, count: 100), to: dir + "/x")
        let error = try #require(throws: ModelError.self) { try Checkpoint.load(path: dir + "/x") }
        #expect(error.message.contains("not an nfm checkpoint"))
    }

    @Test func checkpointRefusesADatasetWithOtherFeatures() throws {
        let dir = temporaryDirectory(), out = temporaryDirectory("out"), other = temporaryDirectory("other")
        defer { FileSystem.remove(dir); FileSystem.remove(out); FileSystem.remove(other) }
        let path = try #require(try trainSmall(dir, out: out).checkpointPath)
        // Same total feature count, different field split.
        let cards = [8, 4, 9]
        try writeDataset(directory: other, cardinalities: cards, splits: [.validation: randomRows(count: 10, cardinalities: cards, seed: 9)])
        let error = try #require(throws: ModelError.self) {
            try Evaluation.run(checkpointPath: path, datasetDirectory: other, threads: 1)
        }
        #expect(error.code == .datasetMismatch)
        #expect(error.message.contains("other features"))
        #expect(error.message.contains("field f0"))
        // The same features under another manifest (different rows) are accepted.
        let same = temporaryDirectory("same")
        defer { FileSystem.remove(same) }
        try writeDataset(directory: same, cardinalities: [7, 5, 9], splits: [.validation: randomRows(count: 10, cardinalities: [7, 5, 9], seed: 9)])
        let evaluation = try Evaluation.run(checkpointPath: path, datasetDirectory: same, threads: 1)
        #expect(!evaluation.sameManifest)
    }

    @Test func pretrainingCopiesTheFMParameters() throws {
        let dir = temporaryDirectory(), out = temporaryDirectory("out")
        defer { FileSystem.remove(dir); FileSystem.remove(out) }
        let cards = [7, 5, 9]
        try writeDataset(
            directory: dir, cardinalities: cards,
            splits: [.train: randomRows(count: 200, cardinalities: cards, seed: 1), .validation: randomRows(count: 100, cardinalities: cards, seed: 2)])
        let dataset = try Dataset.load(directory: dir)
        var o = TrainingOptions()
        o.epochs = 2
        o.outDirectory = out
        let fm = try Trainer(dataset: dataset, config: ModelConfig(kind: .fm, featureCount: 21, factors: 8, batchNorm: false), options: o).run()
        var p = TrainingOptions()
        p.initFrom = fm.checkpointPath
        let nfm = try Trainer(dataset: dataset, config: ModelConfig(kind: .nfm, featureCount: 21, factors: 8, layers: [8]), options: p)
        #expect(nfm.model.embeddings.array == fm.bestModel.embeddings.array)
        #expect(nfm.model.linear.array == fm.bestModel.linear.array)
        var wrongK = TrainingOptions()
        wrongK.initFrom = fm.checkpointPath
        #expect(throws: ModelError.self) {
            try Trainer(dataset: dataset, config: ModelConfig(kind: .nfm, featureCount: 21, factors: 16, layers: [8]), options: wrongK)
        }
    }
}
