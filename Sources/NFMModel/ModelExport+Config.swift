import Foundation
import NFMFormat

extension ModelExport {
    /// `config.json` of an exported model (keys in snake_case). Everything a reader needs to rebuild the
    /// model's inference pass from `model.safetensors` and to turn `ŷ` into what `nfm predict` prints:
    /// `output` is `"clip"` (squared loss: `min(max(ŷ, clip[0]), clip[1])`, the label range) or
    /// `"sigmoid"` (log loss: `σ(ŷ)`).
    public struct Config: Codable, Sendable {
        public struct Labels: Codable, Sendable {
            public var positive: Float
            public var negative: Float
        }
        public struct Field: Codable, Sendable {
            public var name: String
            /// First feature index of the field; its features are `offset ..< offset + cardinality`.
            public var offset: Int
            public var cardinality: Int
            /// The field's vocabulary in the export (`vocab/NAME.tsv`), when the checkpoint embeds one.
            public var vocabulary: String?
            /// `numeric` or `multi`; absent for categorical fields (definition version 2 encodings, as in
            /// the manifest: with `definition.json` they say how raw cells become features).
            public var kind: String?
            /// Local index of the field's out-of-vocabulary feature (global `offset + oov`), when it has one.
            public var oov: Int?
            /// Standardized numeric fields: xᵢ = (x − mean) / stddev.
            public var mean: Double?
            public var stddev: Double?
        }
        public struct Dataset: Codable, Sendable {
            public var name: String
            public var manifestSha256: String
            public var layout: String
        }
        public struct TensorInfo: Codable, Sendable {
            public var name: String
            public var shape: [Int]
            /// The checkpoint tensor it holds, and whether it is that `[rows, columns]` matrix transposed.
            public var checkpointTensor: String
            public var transposed: Bool
        }

        public var format = "nfm-model"
        public var formatVersion = ModelExport.formatVersion
        public var tool = ToolInfo.name
        /// `nfm`, `fm`, `lr`, `wide-deep`, `deep-cross` or `hofm`.
        public var kind: String
        public var featureCount: Int
        public var factors: Int
        /// Hidden layer widths (NFM, Wide&Deep) or residual units' inner widths (DeepCross).
        public var layers: [Int]
        /// `relu`, `sigmoid`, `tanh` or `identity`, after every hidden layer and residual stage.
        public var activation: String
        public var batchNorm: Bool
        /// Batch norm at inference: `γ·(x − running_mean)/√(running_var + ε) + β`.
        public var batchNormEpsilon: Float
        /// Training-time only (inference uses none): dropout on the interaction vector and after each layer.
        public var dropout: [Float]
        /// `squared` or `log`.
        public var loss: String
        public var labels: Labels
        /// `clip` or `sigmoid` (see the type's summary).
        public var output: String
        /// `[lower, upper]` for `output == "clip"`.
        public var clip: [Float]?
        /// Wide&Deep and DeepCross: per-field widths of the concatenated embeddings (fields in order).
        public var fieldSizes: [Int]?
        public var fields: [Field]
        public var dataset: Dataset
        /// The dataset definition (`definition.json`), when the checkpoint embeds one.
        public var definition: String?
        public var training: Checkpoint.Training?
        public var tensors: [TensorInfo]

        /// The configuration of `checkpoint`'s export.
        public init(checkpoint: Checkpoint) throws {
            let model = checkpoint.model.config
            let header = checkpoint.header
            kind = model.kind.rawValue
            featureCount = model.featureCount
            factors = model.factors
            layers = model.layers
            activation = model.activation.rawValue
            batchNorm = checkpoint.model.biNorm != nil || checkpoint.model.layers.contains { $0.norm != nil }
            batchNormEpsilon = model.batchNormEpsilon
            dropout = [model.biDropout] + model.hiddenDropout
            loss = model.loss.rawValue
            labels = Labels(positive: header.dataset.labels.positive, negative: header.dataset.labels.negative)
            output = model.loss == .log ? "sigmoid" : "clip"
            let range = Prediction.labelRange(of: checkpoint)
            clip = model.loss == .log ? nil : [range.lowerBound, range.upperBound]
            fieldSizes = model.fieldSizes
            let embedded = Set(header.vocabularies.map(\.path))
            let paths = Self.vocabularyPaths(of: header.dataset.fields)
            fields = zip(header.dataset.fields, paths).map { field, path in
                Field(
                    name: field.name, offset: field.offset, cardinality: field.cardinality,
                    vocabulary: field.vocabulary.map(embedded.contains) == true ? path : nil, kind: field.kind, oov: field.oov,
                    mean: field.mean, stddev: field.stddev)
            }
            dataset = Dataset(name: header.dataset.name, manifestSha256: header.dataset.manifestSHA256, layout: header.dataset.layout)
            definition = header.definition == nil ? nil : ModelExport.definitionFile
            training = header.training
            tensors = ModelExport.tensors(of: checkpoint.model).map {
                TensorInfo(name: $0.tensor.name, shape: $0.tensor.shape, checkpointTensor: $0.source, transposed: $0.transposed)
            }
        }

        /// Where each field's vocabulary goes in the export: `vocab/` + the field's name made safe for a
        /// path (`FileSystem.sanitizedComponent`) + `.tsv`, with `-INDEX` added to a name already taken.
        static func vocabularyPaths(of fields: [DatasetFingerprint.Field]) -> [String] {
            var taken = Set<String>()
            return fields.enumerated().map { index, field in
                var name = FileSystem.sanitizedComponent(field.name)
                if taken.contains(name) { name += "-\(index)" }
                taken.insert(name)
                return ModelExport.vocabularyDirectory + "/" + name + ".tsv"
            }
        }

        /// Pretty-printed JSON with sorted keys and a final newline.
        public func encoded() throws -> [UInt8] {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            return Array(try encoder.encode(self)) + [0x0A]
        }
    }
}
