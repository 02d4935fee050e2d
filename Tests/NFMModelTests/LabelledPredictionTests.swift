import Foundation
import NFMFormat
import NFMKernels
import NFMPipeline
import NFMTestSupport
import Testing

@testable import NFMModel

/// `predict` encodes raw rows exactly as a labelled build did: every row of a small labelled CSV
/// (categorical with rare values and empty cells, numbers with empties, negatives and decimals that no
/// `Float` holds, buckets, a multi-valued column with empty and repeated pieces, a binary label),
/// encoded with the dataset's encoder and with a trained checkpoint's, gives exactly the multiset of
/// instances stored in the shards — labels, indices and value bits.
@Suite struct LabelledPredictionTests {
    static let sparseDefinition = """
        { "name": "mixed", "input": { "delimiter": "," },
          "label": { "column": "click", "type": "binary" },
          "fields": [
            { "name": "site", "minCount": 3 },
            { "name": "dev", "missing": "oov" },
            { "name": "cnt", "type": "numeric", "transform": "log1p", "missing": "own-value" },
            { "name": "price", "type": "numeric", "transform": "standardize" },
            { "name": "raw", "type": "numeric" },
            { "name": "age", "type": "numeric", "bucketize": "log2-squared", "missing": "own-value", "minCount": 2 },
            { "name": "tags", "type": "multi", "separator": "|", "weight": "mean", "minCount": 2 } ],
          "shardRows": 50 }
        """
    /// All fields one-hot: the fixed shard layout.
    static let fixedDefinition = """
        { "name": "onehot", "input": { "delimiter": "," },
          "label": { "column": "click", "type": "binary" },
          "fields": [
            { "name": "site", "minCount": 3 },
            { "name": "dev", "missing": "oov" },
            { "name": "age", "type": "numeric", "bucketize": "log2-squared", "missing": "own-value", "minCount": 2 } ],
          "shardRows": 50 }
        """

    /// A labelled CSV of `rows` rows (columns in another order than the definition, plus an extra one);
    /// returns its text and the label of each data line (line 2 onwards).
    static func log(rows: Int, seed: UInt64) -> (text: String, labels: [Int: Float]) {
        var random = Xoshiro256(seed: seed)
        var text = "tags,click,site,extra,cnt,price,dev,raw,age\n"
        var labels: [Int: Float] = [:]
        let tagNames = ["comedy", "drama", "horror", "noir", "rare\(seed)"]
        for r in 0..<rows {
            func pick<T>(_ values: [T]) -> T { values[random.next(below: values.count)] }
            // Skewed sites: s0–s4 often, one-off sites now and then.
            let site = random.next(below: 8) == 0 ? "once\(r)" : "s\(min(random.next(below: 6), random.next(below: 6)))"
            let dev = random.next(below: 5) == 0 ? "" : pick(["phone", "tablet", "tv\(r % 40)"])
            let cnt = random.next(below: 4) == 0 ? "" : pick(["0", "3", "-2", "0.1", "17", "1e3", "-0.75"])
            let price = random.next(below: 6) == 0 ? "" : String(format: "%.3f", 10 * random.nextNormal() + 2)
            let raw = random.next(below: 6) == 0 ? "" : pick(["0.1", "-3.3", "2", "1e-7", "123456.789"])
            let age = random.next(below: 5) == 0 ? "" : pick(["1", "2", "2.5", "40", "-3", "900", "77777"])
            let tags = (0..<random.next(below: 4)).map { _ in pick(tagNames + [""]) }.joined(separator: "|")
            let click: Float = random.next(below: 3) == 0 ? 1 : 0
            labels[r + 2] = click
            text += "\(tags),\(Int(click)),\(site),x,\(cnt),\(price),\(dev),\(raw),\(age)\n"
        }
        return (text, labels)
    }

    /// An instance: the label and the (index, value bits) entries in stored order.
    struct Instance: Hashable, Comparable {
        var label: Float
        var entries: [UInt64]
        static func < (a: Instance, b: Instance) -> Bool {
            a.label != b.label ? a.label < b.label : a.entries.lexicographicallyPrecedes(b.entries)
        }
    }

    static func entry(_ index: UInt32, _ value: Float) -> UInt64 { UInt64(index) << 32 | UInt64(value.bitPattern) }

    static func stored(_ directory: String, _ manifest: DatasetManifest) throws -> [Instance] {
        var instances: [Instance] = []
        for split in Split.allCases {
            let block = try TestSupport.instances(directory, manifest, split)
            for r in 0..<block.rowCount {
                let range =
                    block.layout == .fixed
                    ? r * block.fieldCount..<(r + 1) * block.fieldCount : Int(block.rowOffsets[r])..<Int(block.rowOffsets[r + 1])
                let entries = range.map { entry(block.indices[$0], block.layout == .fixed ? 1 : block.values[$0]) }
                instances.append(Instance(label: block.labels[r], entries: entries))
            }
        }
        return instances.sorted()
    }

    static func encoded(_ encoder: RawRowEncoder, _ path: String, labels: [Int: Float]) throws -> [Instance] {
        var instances: [Instance] = []
        try encoder.encode(path: path) { row in
            #expect(row.unseenFields.isEmpty, "line \(row.line): unseen \(row.unseenValues)")
            let entries = zip(row.features, row.values).map { entry($0, $1) }
            instances.append(Instance(label: labels[row.line] ?? .nan, entries: entries))
        }
        return instances.sorted()
    }

    @Test(arguments: [(sparseDefinition, ShardBlock.Layout.sparse), (fixedDefinition, .fixed)])
    func reencodingTheInputGivesTheStoredInstances(definition text: String, layout: ShardBlock.Layout) throws {
        let dir = temporaryDirectory()
        defer { FileSystem.remove(dir) }
        let (log, labels) = Self.log(rows: 400, seed: 4)
        let raw = dir + "/log.csv"
        try FileSystem.writeAtomically(Array(log.utf8), to: raw)
        let definition = try DatasetDefinition.parse(text: text, file: "mixed.json")
        var options = DatasetBuilder.Options(definition: definition, inputPath: raw, outputDirectory: dir + "/data")
        options.threads = 1
        let manifest = try DatasetBuilder.build(options)
        #expect(manifest.layout == layout && manifest.counts.instances == 400)
        #expect(manifest.fields[0].oov != nil && manifest.fields[1].oov != nil)
        let stored = try Self.stored(dir + "/data", manifest)
        // The dataset's own encoder.
        let fromDataset = try RawRowEncoder(datasetDirectory: dir + "/data", manifest: manifest)
        #expect(fromDataset.hasValues == (layout == .sparse))
        let viaDataset = try Self.encoded(fromDataset, raw, labels: labels)
        #expect(viaDataset.count == stored.count)
        #expect(viaDataset == stored, "first difference: \(zip(viaDataset, stored).first { $0 != $1 }.map { "\($0) vs \($1)" } ?? "")")
        // A checkpoint trained on it (log loss) encodes the same.
        var training = TrainingOptions()
        training.epochs = 1
        training.outDirectory = dir + "/run"
        let dataset = try Dataset.load(directory: dir + "/data")
        let config = ModelConfig(kind: .fm, featureCount: manifest.featureCount, factors: 4, batchNorm: false, loss: .log)
        let result = try Trainer(dataset: dataset, config: config, options: training).run()
        let checkpoint = try Checkpoint.load(path: try #require(result.checkpointPath))
        #expect(checkpoint.header.dataset.fields.map(\.oov) == manifest.fields.map(\.oov))
        #expect(checkpoint.header.dataset.fields.map(\.mean) == manifest.fields.map(\.mean))
        let viaCheckpoint = try Self.encoded(try Prediction.encoder(for: checkpoint), raw, labels: labels)
        #expect(viaCheckpoint == stored)
        // And predicts one probability per row, counting OOV values per field.
        var predictions: [Float] = []
        let report = try Prediction.run(checkpoint: checkpoint, inputPath: raw, unseen: .fail) { _, p in predictions.append(p) }
        #expect(predictions.count == 400 && predictions.allSatisfy { (0...1).contains($0) })
        #expect((report.oovByField?["site"] ?? 0) > 0 && (report.oovByField?["dev"] ?? 0) > 0)
    }

    static let criteoSample = TestSupport.packageRoot + "/../shared/datasets/deepctr-samples/criteo_sample.txt"

    /// DeepCTR's Criteo sample with `pipelines/criteo.json`: re-encoding its 200 rows gives the stored
    /// instances exactly (numbers with empties and negatives, minCount-10 OOV features).
    @Test(.enabled(if: FileManager.default.fileExists(atPath: criteoSample)))
    func criteoSampleReencodesToTheStoredInstances() throws {
        let (directory, manifest) = try TestSupport.build(definition: "criteo.json", input: Self.criteoSample)
        defer { FileSystem.remove((directory as NSString).deletingLastPathComponent) }
        let text = String(decoding: try ReadableFile.readAll(Self.criteoSample), as: UTF8.self)
        var labels: [Int: Float] = [:]
        for (k, line) in text.split(separator: "\n").enumerated().dropFirst() {
            labels[k + 1] = try #require(Float(line.prefix { $0 != "," }))
        }
        let encoder = try RawRowEncoder(datasetDirectory: directory, manifest: manifest)
        let encoded = try Self.encoded(encoder, Self.criteoSample, labels: labels)
        #expect(encoded.count == 200)
        #expect(encoded == (try Self.stored(directory, manifest)))
    }
}
