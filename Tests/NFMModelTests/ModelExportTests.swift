import Foundation
import NFMFormat
import Testing

@testable import NFMModel

@Suite struct ModelExportTests {
    /// The checkpoint tensor `source` as an exported `[rows, columns]` → `[columns, rows]` matrix when
    /// `transposed`, checked independently of `ModelExport.tensors`.
    static func expectedValues(_ model: Model, _ source: String, shape: [Int]) throws -> [Float] {
        let buffer = try #require(model.namedTensors.first { $0.name == source }?.buffer)
        let values = (0..<buffer.count).map { buffer[$0] }
        guard source.hasSuffix("weight") || source.hasSuffix("weight1") || source.hasSuffix("weight2") else { return values }
        let (out, input) = (shape[0], shape[1])  // exported [out, in]; stored row-major [in, out]
        return (0..<out * input).map { i in values[(i % input) * out + i / input] }
    }

    /// Every exported tensor parses back with its documented name and shape and the checkpoint's values.
    @Test(arguments: [ModelKind.nfm, .fm, .lr, .wideDeep, .deepCross, .hofm])
    func safetensorsRoundTripsTheCheckpointTensors(kind: ModelKind) throws {
        let dir = temporaryDirectory()
        defer { FileSystem.remove(dir) }
        let layers: [Int]? = kind == .fm || kind == .lr || kind == .hofm ? nil : [6, 4]
        let (path, _) = try PredictionTests.trained(
            dir, config: ModelConfig(kind: kind, featureCount: 0, factors: 8, layers: layers, batchNorm: kind != .fm))
        let checkpoint = try Checkpoint.load(path: path)
        let config = try ModelExport.export(checkpointPath: path, to: dir + "/export", force: false)
        let bytes = try ReadableFile.readAll(dir + "/export/" + ModelExport.tensorsFile)
        let (tensors, metadata) = try Safetensors.decode(bytes, name: "model.safetensors")
        #expect(metadata["nfm.kind"] == kind.rawValue)
        #expect(bytes.readLittleEndian(UInt64.self, at: 0) % 8 == 0)
        #expect(tensors.map(\.name) == config.tensors.map(\.name))
        #expect(tensors.count == checkpoint.model.namedTensors.count)
        let model = checkpoint.model
        let (features, k) = (model.config.featureCount, model.config.factors)
        for (tensor, info) in zip(tensors, config.tensors) {
            #expect(tensor.shape == info.shape)
            #expect(tensor.values == (try Self.expectedValues(model, info.checkpointTensor, shape: tensor.shape)), "\(tensor.name)")
        }
        let shapes = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0.shape) })
        #expect(shapes["bias"] == [])
        if kind != .lr { #expect(shapes["embedding"] == [features, k]) }
        if kind != .deepCross { #expect(shapes["linear"] == [features]) }
        if kind == .nfm {
            #expect(shapes["layers.0.weight"] == [6, k] && shapes["layers.1.weight"] == [4, 6])
            #expect(shapes["bi_norm.running_var"] == [k] && shapes["layers.1.norm.running_mean"] == [4])
            #expect(shapes["prediction"] == [4])
        }
        if kind == .deepCross {
            let d = 3 * k  // three fields
            #expect(shapes["residuals.0.linear1.weight"] == [6, d] && shapes["residuals.0.linear2.weight"] == [d, 6])
        }
        if kind == .hofm { #expect(shapes["embedding3"] == [features, k]) }
    }

    /// config.json, vocab/ and definition.json describe what the checkpoint embeds.
    @Test func configAndVocabulariesDescribeTheModel() throws {
        let dir = temporaryDirectory()
        defer { FileSystem.remove(dir) }
        let (path, _) = try PredictionTests.trained(dir, config: ModelConfig(kind: .nfm, featureCount: 0, factors: 8, layers: [4]))
        let checkpoint = try Checkpoint.load(path: path)
        _ = try ModelExport.export(checkpointPath: path, to: dir + "/export", force: false)
        let json = try ReadableFile.readAll(dir + "/export/config.json")
        let config = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
        #expect(config["kind"] as? String == "nfm" && config["factors"] as? Int == 8 && config["layers"] as? [Int] == [4])
        #expect(config["output"] as? String == "clip" && config["clip"] as? [Int] == [-1, 1])
        #expect(config["feature_count"] as? Int == checkpoint.model.config.featureCount)
        #expect(config["batch_norm"] as? Bool == true)
        let fields = try #require(config["fields"] as? [[String: Any]])
        #expect(fields.map { $0["name"] as? String } == ["user", "item", "weather"])
        for (field, recorded) in zip(fields, checkpoint.header.dataset.fields) {
            let vocabulary = try #require(field["vocabulary"] as? String)
            let text = try ReadableFile.readAll(dir + "/export/" + vocabulary)
            #expect(SHA256.hexDigest(of: text) == recorded.vocabularySHA256)
            #expect(field["offset"] as? Int == recorded.offset && field["cardinality"] as? Int == recorded.cardinality)
        }
        #expect(try ReadableFile.readAll(dir + "/export/definition.json") == Array(checkpoint.header.definition!.text.utf8))
    }

    /// The export never lands in a foreign or non-empty directory, nor around its checkpoint.
    @Test func exportRefusesForeignNonEmptyAndInputDirectories() throws {
        let dir = temporaryDirectory()
        defer { FileSystem.remove(dir) }
        let (path, _) = try PredictionTests.trained(dir)
        let foreign = dir + "/mine"
        try FileSystem.createDirectory(foreign)
        try FileSystem.writeAtomically(Array("keep".utf8), to: foreign + "/notes.txt")
        for (target, force) in [(foreign, false), (foreign, true), (dir + "/run", true), (dir, true)] {
            let error = try #require(throws: NFMError.self) { try ModelExport.export(checkpointPath: path, to: target, force: force) }
            #expect(error.code == .refused, "\(target) force \(force)")
        }
        #expect(try ReadableFile.readAll(foreign + "/notes.txt") == Array("keep".utf8))
        _ = try ModelExport.export(checkpointPath: path, to: dir + "/export", force: false)
        #expect(throws: NFMError.self) { try ModelExport.export(checkpointPath: path, to: dir + "/export", force: false) }
        _ = try ModelExport.export(checkpointPath: path, to: dir + "/export", force: true)
        #expect(FileSystem.exists(dir + "/export/model.safetensors"))
    }

    /// A safetensors file whose header or data was cut or altered is refused with `.checkpoint`.
    @Test func corruptedSafetensorsAreRefused() throws {
        let tensors = [
            SafetensorsTensor(name: "a", shape: [2, 3], values: (0..<6).map(Float.init)),
            SafetensorsTensor(name: "b \"quoted\"", shape: [], values: [7]),
        ]
        let bytes = Safetensors.encode(tensors, metadata: ["format": "pt"])
        let (decoded, metadata) = try Safetensors.decode(bytes, name: "t.safetensors")
        #expect(decoded == tensors && metadata == ["format": "pt"])
        var longHeader = bytes
        longHeader[0] = 0xFF
        var shortData = bytes
        shortData.removeLast()
        var badShape = bytes
        let header = String(decoding: bytes[8..<8 + Int(bytes.readLittleEndian(UInt64.self, at: 0))], as: UTF8.self)
        let edited = Array(header.replacingOccurrences(of: "[2,3]", with: "[3,3]").utf8)
        badShape.replaceSubrange(8..<8 + edited.count, with: edited)
        for corrupted in [Array(bytes.prefix(5)), longHeader, shortData, badShape] {
            let error = try #require(throws: NFMError.self) { try Safetensors.decode(corrupted, name: "t.safetensors") }
            #expect(error.code == .checkpoint && error.position?.file == "t.safetensors")
        }
    }
}
