import Foundation
import NFMFormat
import NFMKernels
import NFMPipeline
import NFMTestSupport
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

    /// Builds a small dataset from raw rows with the pipeline (in `dir/data`), trains a model for two
    /// epochs (an FM unless `config` says otherwise; its feature count is the dataset's).
    static func trained(_ dir: String, config: ModelConfig? = nil) throws -> (checkpoint: String, raw: String) {
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
        var config = config ?? ModelConfig(kind: .fm, featureCount: 0, factors: 8, batchNorm: false)
        config.featureCount = dataset.manifest.featureCount
        if config.kind.concatenatesFields { config.fieldSizes = dataset.manifest.fields.map(\.cardinality) }
        let result = try Trainer(dataset: dataset, config: config, options: training).run()
        return (try #require(result.checkpointPath), raw)
    }

    @Test func predictEncodesRawRowsLikeTheDatasetAndHandlesUnseenValues() throws {
        let dir = temporaryDirectory()
        defer { FileSystem.remove(dir) }
        let (path, _) = try Self.trained(dir)
        let checkpoint = try Checkpoint.load(path: path)
        let encoder = try Prediction.encoder(for: checkpoint)
        // Known values, an unseen user, an unseen user and weather.
        let input = dir + "/new.tsv"
        try FileSystem.writeAtomically(
            Array("weather\tuser\titem\textra\nw1\tu3\ti4\tq\nw0\tnobody\ti4\tq\nsnow\tnobody\ti5\tq\n".utf8), to: input)
        func predictions(_ policy: Prediction.UnseenPolicy) throws -> ([(Int, Float)], Prediction.Report) {
            var out: [(Int, Float)] = []
            let report = try Prediction.run(checkpoint: checkpoint, inputPath: input, unseen: policy, clip: false) {
                out.append(($0, $1))
            }
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
        #expect(skipReport.rows == 3 && skipReport.written == 1 && skipReport.skipped == 2)
        #expect(skipReport.rowsWithUnseen == 2)
        #expect(skipReport.unseenByField == ["user": 2, "weather": 1])
        let (ignored, ignoreReport) = try predictions(.ignore)
        #expect(ignored.map(\.0) == [2, 3, 4])
        #expect(ignoreReport.written == 3 && ignoreReport.skipped == 0)
        // Ignoring the unseen user leaves item + weather: w₀ + w_item + w_weather + ⟨v_item, v_weather⟩.
        let m = checkpoint.model
        let item = Int(features[1]), weather = UInt32(encoder.offsets[2] + encoder.vocabularies[2].index(of: "w0")!)
        var expected = Double(m.bias[0]) + Double(m.linear[item]) + Double(m.linear[Int(weather)])
        for c in 0..<8 { expected += Double(m.embeddings[item * 8 + c]) * Double(m.embeddings[Int(weather) * 8 + c]) }
        #expect(abs(Double(ignored[1].1) - expected) < 1e-5)
        let error = try #require(throws: NFMError.self) { try predictions(.fail) }
        #expect(error.code == .input)
        #expect(error.position == NFMError.Position(file: "new.tsv", line: 3, field: "user", value: "nobody"))
    }

    @Test func predictRejectsAMissingColumn() throws {
        let dir = temporaryDirectory()
        defer { FileSystem.remove(dir) }
        let (path, _) = try Self.trained(dir)
        let input = dir + "/bad.tsv"
        try FileSystem.writeAtomically(Array("user\titem\nu1\ti1\n".utf8), to: input)
        let error = try #require(throws: NFMError.self) {
            try Prediction.run(checkpoint: try Checkpoint.load(path: path), inputPath: input, unseen: .skip) { _, _ in }
        }
        #expect(error.code == .input)
        #expect(error.message.contains("missing header column 'weather'"))
    }

    /// `runDataset` hands out `Predictor`'s outputs (what `nfm evaluate` computes its metrics from) in
    /// stored order, clipped to the label range unless asked not to.
    @Test func datasetPredictionsAreTheEvaluatorsInStoredOrder() throws {
        let dir = temporaryDirectory()
        defer { FileSystem.remove(dir) }
        let (path, _) = try Self.trained(dir, config: ModelConfig(kind: .nfm, featureCount: 0, factors: 8, layers: [4]))
        let checkpoint = try Checkpoint.load(path: path)
        let split = try #require(try Dataset.load(directory: dir + "/data", splits: [.test])[.test])
        let expected = Predictor(model: checkpoint.model, threads: 1).predict(split)
        var clipped: [Float] = []
        let report = try Prediction.runDataset(checkpoint: checkpoint, directory: dir + "/data", split: .test) { clipped += $0 }
        #expect(clipped.count == split.rowCount && split.rowCount > 0)
        #expect(clipped == expected.map { min(max($0, -1), 1) })
        #expect(report.rows == split.rowCount && report.written == split.rowCount && report.skipped == 0)
        var raw: [Float] = []
        _ = try Prediction.runDataset(checkpoint: checkpoint, directory: dir + "/data", split: .test, clip: false) { raw += $0 }
        #expect(raw == expected)
    }

    /// A split written as libFM text predicts as the split does; indices beyond the model's features
    /// fail at their line and column, or are ignored, or skip the row.
    @Test func libFMPredictionsEqualTheSplitsAndOutOfRangeIndicesAreHandled() throws {
        let dir = temporaryDirectory()
        defer { FileSystem.remove(dir) }
        let (path, _) = try Self.trained(dir)
        let checkpoint = try Checkpoint.load(path: path)
        let split = try #require(try Dataset.load(directory: dir + "/data", splits: [.test])[.test])
        var text = ""
        for r in 0..<split.rowCount {
            let features = split.indices[r * split.fieldCount..<(r + 1) * split.fieldCount]
            text += "\(split.labels[r] > 0 ? "1" : "-1")  " + features.map { "\($0):1" }.joined(separator: " ") + "\n"
        }
        let file = TestSupport.write(text, named: "test.libfm", in: dir)
        var fromDataset: [Float] = []
        _ = try Prediction.runDataset(checkpoint: checkpoint, directory: dir + "/data", split: .test) { fromDataset += $0 }
        var fromLibFM: [(line: Int, value: Float)] = []
        let report = try Prediction.runLibFM(checkpoint: checkpoint, path: file, unseen: .fail) { fromLibFM.append(($0, $1)) }
        #expect(report.written == split.rowCount)
        #expect(fromLibFM.map(\.line) == Array(1...split.rowCount))
        #expect(zip(fromLibFM.map(\.value), fromDataset).allSatisfy { abs($0 - $1) <= 1e-6 })

        let features = checkpoint.model.config.featureCount
        let bad = TestSupport.write("1 0:1 5:1\n-1 2:1 \(features):0.5\n", named: "bad.libfm", in: dir)
        let error = try #require(throws: NFMError.self) {
            try Prediction.runLibFM(checkpoint: checkpoint, path: bad, unseen: .fail) { _, _ in }
        }
        #expect(error.code == .input)
        #expect(error.position?.file == "bad.libfm" && error.position?.line == 2 && error.position?.column == 8)
        var ignored: [Float] = []
        let ignoreReport = try Prediction.runLibFM(checkpoint: checkpoint, path: bad, unseen: .ignore) { ignored.append($1) }
        var alone: [Float] = []
        _ = try Prediction.runLibFM(checkpoint: checkpoint, path: TestSupport.write("-1 2:1\n", named: "one.libfm", in: dir), unseen: .fail) {
            alone.append($1)
        }
        #expect(ignored.count == 2 && ignored[1] == alone[0])
        #expect(ignoreReport.rowsWithUnseen == 1 && ignoreReport.unseenByField == ["index": 1])
        var kept: [Int] = []
        let skipReport = try Prediction.runLibFM(checkpoint: checkpoint, path: bad, unseen: .skip) { line, _ in kept.append(line) }
        #expect(kept == [1] && skipReport.skipped == 1 && skipReport.written == 1)
    }

    /// Models trained on `import-libfm` datasets (sparse layout with values, or one-hot fixed layout)
    /// predict libFM files as they predict their own test split; raw rows are refused (no definition).
    @Test(arguments: [false, true]) func modelsOfImportedLibFMDataPredictLibFMFiles(oneHot: Bool) throws {
        let dir = temporaryDirectory()
        defer { FileSystem.remove(dir) }
        var random = Xoshiro256(seed: oneHot ? 5 : 6)
        func rows(_ count: Int) -> String {
            (0..<count).map { _ in
                let label = random.next(below: 2) == 0 ? "-1" : "1"
                if oneHot { return "\(label) \(random.next(below: 10)):1 \(10 + random.next(below: 7)):1 \(17 + random.next(below: 5)):1" }
                let entries = (0..<(1 + random.next(below: 4))).map { _ in "\(random.next(below: 30)):\(Float(1 + random.next(below: 4)) / 4)" }
                return ([label] + entries).joined(separator: " ")
            }.joined(separator: "\n") + "\n"
        }
        let train = TestSupport.write(rows(300), named: "train.libfm", in: dir)
        let validation = TestSupport.write(rows(50), named: "validation.libfm", in: dir)
        let test = TestSupport.write(rows(50), named: "test.libfm", in: dir)
        var options = LibFMConverter.ImportOptions(
            files: [.train: train, .validation: validation, .test: test], outputDirectory: dir + "/data")
        options.threads = 1
        let manifest = try LibFMConverter.importFiles(options)
        #expect(manifest.layout == (oneHot ? .fixed : .sparse))
        var training = TrainingOptions()
        training.epochs = 1
        training.outDirectory = dir + "/run"
        let dataset = try Dataset.load(directory: dir + "/data")
        let config = ModelConfig(kind: .nfm, featureCount: manifest.featureCount, factors: 4, layers: [4])
        let checkpointPath = try #require(try Trainer(dataset: dataset, config: config, options: training).run().checkpointPath)
        let checkpoint = try Checkpoint.load(path: checkpointPath)
        var fromDataset: [Float] = []
        _ = try Prediction.runDataset(checkpoint: checkpoint, directory: dir + "/data", split: .test) { fromDataset += $0 }
        var fromLibFM: [Float] = []
        _ = try Prediction.runLibFM(checkpoint: checkpoint, path: test, unseen: .fail) { fromLibFM.append($1) }
        #expect(fromDataset.count == 50 && fromLibFM.count == 50)
        #expect(zip(fromLibFM, fromDataset).allSatisfy { abs($0 - $1) <= 1e-6 })
        let error = try #require(throws: NFMError.self) {
            try Prediction.run(checkpoint: checkpoint, inputPath: test, unseen: .skip) { _, _ in }
        }
        #expect(error.code == .checkpoint)
    }

    /// `%g` with libFM's 6 significant digits, and 9 digits round-tripping a Float.
    @Test func predictionsArePrintedAsLibFMPrintsThem() {
        #expect(Prediction.format(0.123456789) == "0.123457")
        #expect(Prediction.format(-1) == "-1")
        #expect(Prediction.format(0.00001) == "1e-05")
        #expect(Prediction.format(3.25) == "3.25")
        let value: Float = 0.1234567
        #expect(Float(Prediction.format(value, precision: 9)) == value)
    }
}
