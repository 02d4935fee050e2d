import Foundation
import NFMFormat
import NFMKernels
import NFMPipeline
import Testing

@testable import NFMModel

@Suite struct PredictionTests {
    static let definition = """
        {
          "name": "tiny",
          "input": { "delimiter": "\\t", "quote": "\\"", "header": true },
          "columns": ["user", "item", "extra", "weather"],
          "fields": ["user", "item", "weather"],
          "labels": { "positive": 1, "negative": -1 },
          "negatives": { "field": "item", "perPositive": 2, "rule": "user", "rules": { "user": ["user"] } },
          "split": { "train": 0.7, "validation": 0.2, "test": 0.1 },
          "seed": 3,
          "shardRows": 100,
          "zstdLevel": 1
        }
        """

    /// Builds a small dataset from raw rows with the pipeline, trains an FM for two epochs.
    func trained(_ dir: String) throws -> (checkpoint: String, raw: String) {
        var text = "user\titem\textra\tweather\n"
        var random = Xoshiro256(seed: 8)
        for _ in 0..<400 {
            text += "u\(random.next(below: 20))\ti\(random.next(below: 30))\tx\tw\(random.next(below: 3))\n"
        }
        let raw = dir + "/raw.tsv"
        try FileSystem.writeAtomically(Array(text.utf8), to: raw)
        let definition = try DatasetDefinition.parse(text: Self.definition, file: "tiny.json")
        var options = DatasetBuilder.Options(definition: definition, inputPath: raw, outputDirectory: dir + "/data")
        options.threads = 1
        _ = try DatasetBuilder.build(options)
        var training = TrainingOptions()
        training.epochs = 2
        training.outDirectory = dir + "/run"
        let dataset = try Dataset.load(directory: dir + "/data")
        let config = ModelConfig(kind: .fm, featureCount: dataset.manifest.featureCount, factors: 8, batchNorm: false)
        let result = try Trainer(dataset: dataset, config: config, options: training).run()
        return (try #require(result.checkpointPath), raw)
    }

    @Test func predictEncodesRawRowsLikeTheDatasetAndHandlesUnseenValues() throws {
        let dir = temporaryDirectory()
        defer { FileSystem.remove(dir) }
        let (path, _) = try trained(dir)
        let checkpoint = try Checkpoint.load(path: path)
        let encoder = try Prediction.Encoder(checkpoint: checkpoint)
        // Known values, an unseen user, an unseen user and weather.
        let input = dir + "/new.tsv"
        try FileSystem.writeAtomically(
            Array("weather\tuser\titem\textra\nw1\tu3\ti4\tq\nw0\tnobody\ti4\tq\nsnow\tnobody\ti5\tq\n".utf8), to: input)
        func predictions(_ policy: Prediction.UnseenPolicy) throws -> ([(Int, Float)], Prediction.Report) {
            var out: [(Int, Float)] = []
            let report = try Prediction.run(checkpoint: checkpoint, inputPath: input, unseen: policy) { out.append(($0, $1)) }
            return (out, report)
        }
        // The expected prediction of line 2, from the vocabularies and the model directly.
        let features: [UInt32] = [
            UInt32(encoder.offsets[0] + encoder.vocabularies[0].index(of: "u3")!),
            UInt32(encoder.offsets[1] + encoder.vocabularies[1].index(of: "i4")!),
            UInt32(encoder.offsets[2] + encoder.vocabularies[2].index(of: "w1")!),
        ]
        let ws = Workspace(model: checkpoint.model, capacity: 1)
        var random = Xoshiro256(seed: 0)
        features.withUnsafeBufferPointer {
            checkpoint.model.forward(SparseRows(rowCount: 1, fieldCount: 3, indices: $0.baseAddress!), workspace: ws, training: false, random: &random)
        }
        let (skipped, skipReport) = try predictions(.skip)
        #expect(skipped.map(\.0) == [2])
        #expect(skipped[0].1 == ws.predictions[0])
        #expect(skipReport.rows == 3 && skipReport.predicted == 1 && skipReport.skipped == 2)
        #expect(skipReport.rowsWithUnseen == 2)
        #expect(skipReport.unseenByField == ["user": 2, "weather": 1])
        let (ignored, ignoreReport) = try predictions(.ignore)
        #expect(ignored.map(\.0) == [2, 3, 4])
        #expect(ignoreReport.predicted == 3 && ignoreReport.skipped == 0)
        // Ignoring the unseen user leaves item + weather: w₀ + w_item + w_weather + ⟨v_item, v_weather⟩.
        let m = checkpoint.model
        let item = Int(features[1]), weather = UInt32(encoder.offsets[2] + encoder.vocabularies[2].index(of: "w0")!)
        var expected = Double(m.bias[0]) + Double(m.linear[item]) + Double(m.linear[Int(weather)])
        for c in 0..<8 { expected += Double(m.embeddings[item * 8 + c]) * Double(m.embeddings[Int(weather) * 8 + c]) }
        #expect(abs(Double(ignored[1].1) - expected) < 1e-5)
        let error = try #require(throws: ModelError.self) { try predictions(.fail) }
        #expect(error.description.contains("new.tsv:3"))
        #expect(error.message.contains("nobody"))
    }

    @Test func predictRejectsAMissingColumn() throws {
        let dir = temporaryDirectory()
        defer { FileSystem.remove(dir) }
        let (path, _) = try trained(dir)
        let input = dir + "/bad.tsv"
        try FileSystem.writeAtomically(Array("user\titem\nu1\ti1\n".utf8), to: input)
        let error = try #require(throws: ModelError.self) {
            try Prediction.run(checkpoint: try Checkpoint.load(path: path), inputPath: input, unseen: .skip) { _, _ in }
        }
        #expect(error.description.contains("missing header column 'weather'"))
    }
}
