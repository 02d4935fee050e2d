import Foundation
import NFMFormat
import NFMKernels
import NFMPipeline
import NFMTestSupport
import Testing

@testable import NFMModel

/// Checkpoints of models trained on labelled (definition version 2) datasets carry the whole encoding —
/// definition, kept-value vocabularies, field kinds, OOV indices, standardize statistics — so that `predict`
/// encodes raw rows alone; an inconsistent embedded encoding is a `.checkpoint` error, never a trap.
@Suite struct CheckpointEncodingTests {
    static let definition = #"""
        { "name": "v2", "input": { "delimiter": "," }, "label": { "column": "click", "type": "binary" },
          "fields": [
            { "name": "site", "minCount": 2 },
            { "name": "cnt", "type": "numeric", "transform": "standardize", "missing": "own-value" },
            { "name": "tags", "type": "multi", "weight": "mean" } ] }
        """#

    static func vocabularyText(_ values: [String]) -> String {
        var vocabulary = Vocabulary()
        for var value in values { _ = value.withUTF8 { vocabulary.encode($0) } }
        return String(decoding: vocabulary.fileBytes(), as: UTF8.self)
    }

    /// site 0 (a, b, OOV), cnt 3 (value, missing; μ = 5, σ = 2), tags 5 (comedy, drama): 7 features;
    /// an FM with log loss, random weights.
    static func checkpoint() -> Checkpoint {
        let fields: [DatasetManifest.Field] = [
            .init(name: "site", offset: 0, cardinality: 3, vocabulary: "vocab/00-site.tsv", oov: 2),
            .init(name: "cnt", offset: 3, cardinality: 2, vocabulary: "", kind: "numeric", mean: 5, stddev: 2),
            .init(name: "tags", offset: 5, cardinality: 2, vocabulary: "vocab/02-tags.tsv", kind: "multi"),
        ]
        let manifest = DatasetManifest(
            tool: ToolInfo.name, name: "v2", definition: nil, seed: 1, negativeRule: nil, inputs: [], counts: .init(),
            labels: .init(positive: 1, negative: 0), layout: .sparse, fields: fields, featureCount: 7, files: [], shards: [])
        let model = Model(config: ModelConfig(kind: .fm, featureCount: 7, factors: 4, biDropout: 0, batchNorm: false, loss: .log))
        randomize(model, seed: 9, scale: 0.5)
        return Checkpoint(
            model: model, dataset: DatasetFingerprint(manifest: manifest, sha256: String(repeating: "0", count: 64)),
            training: nil, definition: .init(file: "v2.json", sha256: "", text: definition),
            vocabularies: [
                .init(path: "vocab/00-site.tsv", text: vocabularyText(["a", "b"])),
                .init(path: "vocab/02-tags.tsv", text: vocabularyText(["comedy", "drama"])),
            ])
    }

    @Test func theEncodingRoundTripsAndPredictsWithValues() throws {
        let original = Self.checkpoint()
        let decoded = try Checkpoint.decode(try original.encoded(), name: "m.nfmc")
        #expect(decoded.header.dataset == original.header.dataset)
        #expect(decoded.header.dataset.fields[1].mean == 5 && decoded.header.dataset.fields[0].oov == 2)
        // export-model's config.json carries the same field encodings.
        let config = try ModelExport.Config(checkpoint: decoded)
        #expect(config.fields.map(\.oov) == [2, nil, nil] && config.fields.map(\.kind) == [nil, "numeric", "multi"])
        #expect(config.fields[1].mean == 5 && config.fields[1].stddev == 2)
        let json = String(decoding: try config.encoded(), as: UTF8.self)
        #expect(json.contains("\"oov\" : 2") && json.contains("\"stddev\" : 2"))
        let scratch = TestSupport.temporaryDirectory()
        defer { FileSystem.remove(scratch) }
        let input = TestSupport.write("site,cnt,tags,click\nb,7,drama|comedy,1\nzz,,,0\n", named: "rows.csv", in: scratch)
        var predictions: [Float] = []
        let report = try Prediction.run(checkpoint: decoded, inputPath: input, unseen: .fail) { _, p in predictions.append(p) }
        #expect(report.written == 2 && report.rowsWithUnseen == 0)
        #expect(report.oovByField == ["site": 1])
        // Expected: b, cnt (7 − 5)/2 = 1, drama and comedy ½ each; then the OOV site and cnt's indicator.
        let indices: [UInt32] = [1, 3, 6, 5, 2, 4]
        let values: [Float] = [1, 1, 0.5, 0.5, 1, 1]
        let offsets: [UInt32] = [0, 4, 6]
        let ws = Workspace(model: decoded.model, capacity: 2)
        var random = Xoshiro256(seed: 0)
        indices.withUnsafeBufferPointer { idx in
            offsets.withUnsafeBufferPointer { off in
                values.withUnsafeBufferPointer { val in
                    let x = SparseRows(rowCount: 2, fieldCount: 0, indices: idx.baseAddress!, offsets: off.baseAddress!, values: val.baseAddress!)
                    decoded.model.forward(x, workspace: ws, training: false, random: &random)
                }
            }
        }
        for r in 0..<2 { #expect(abs(predictions[r] - 1 / (1 + exp(-ws.predictions[r]))) < 1e-6, "row \(r)") }
    }

    @Test func versionOneFingerprintsHaveNoEncodingKeys() throws {
        var checkpoint = Self.checkpoint()
        for f in checkpoint.header.dataset.fields.indices {
            checkpoint.header.dataset.fields[f].kind = nil
            checkpoint.header.dataset.fields[f].oov = nil
            checkpoint.header.dataset.fields[f].mean = nil
            checkpoint.header.dataset.fields[f].stddev = nil
        }
        let text = String(decoding: try checkpoint.encoded(), as: UTF8.self)
        for key in ["\"kind\":\"numeric\"", "\"oov\"", "\"mean\"", "\"stddev\""] { #expect(!text.contains(key), "\(key)") }
        #expect(String(decoding: try Self.checkpoint().encoded(), as: UTF8.self).contains("\"oov\":2"))
    }

    /// Recorded encodings out of range fail at load; ones the definition cannot have produced fail when
    /// raw rows are to be encoded; both as `.checkpoint`.
    @Test func inconsistentEncodingsAreCheckpointErrors() throws {
        typealias Edit = (inout DatasetFingerprint) -> Void
        let atLoad: [(Edit, String)] = [
            ({ $0.fields[0].oov = 3 }, "dataset.fields[0].oov"),
            ({ $0.fields[0].oov = -1 }, "dataset.fields[0].oov"),
            ({ $0.fields[1].stddev = 0 }, "dataset.fields[1].stddev"),
            ({ $0.fields[1].kind = "text" }, "dataset.fields[1].kind"),
            ({ $0.fields[2].cardinality = -2 }, "dataset.fields[2].cardinality"),
        ]
        for (edit, field) in atLoad {
            var checkpoint = Self.checkpoint()
            edit(&checkpoint.header.dataset)
            let error = try #require(throws: NFMError.self) { try Checkpoint.decode(try checkpoint.encoded(), name: "m.nfmc") }
            #expect(error.code == .checkpoint && error.position?.field == field, "\(error)")
        }
        let atEncoding: [(Edit, String)] = [
            ({ $0.fields[1].stddev = nil }, "field cnt: stddev"),
            ({ $0.fields[1].mean = nil }, "field cnt: stddev"),
            ({ $0.fields[0].oov = nil }, "field site: oov"),
            ({ $0.fields[0].oov = 1 }, "field site: oov"),
            ({ $0.fields[2].kind = nil }, "field tags: kind"),
            ({ $0.fields[1].cardinality = 1 }, "field cnt: cardinality"),
        ]
        for (edit, field) in atEncoding {
            var checkpoint = Self.checkpoint()
            edit(&checkpoint.header.dataset)
            let decoded = try Checkpoint.decode(try checkpoint.encoded(), name: "m.nfmc")
            let error = try #require(throws: NFMError.self) { try Prediction.encoder(for: decoded) }
            #expect(error.code == .checkpoint && error.position?.field == field, "\(error)")
        }
    }
}
