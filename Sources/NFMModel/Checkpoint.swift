import Foundation
import NFMFormat

/// What a model was trained on: enough to refuse data with other features.
public struct DatasetFingerprint: Codable, Sendable, Equatable {
    public struct Field: Codable, Sendable, Equatable {
        public var name: String
        public var offset: Int
        public var cardinality: Int
        /// SHA-256 of the field's vocabulary file, when the manifest lists it.
        public var vocabularySHA256: String?
        /// The vocabulary file's path in the dataset directory.
        public var vocabulary: String?
        /// `numeric` or `multi` (nil: categorical), as in the manifest (definition version 2).
        public var kind: String?
        /// Local index of the field's out-of-vocabulary feature, when it has one.
        public var oov: Int?
        /// Statistics of a standardized numeric field: xᵢ = (x − mean) / stddev.
        public var mean: Double?
        public var stddev: Double?
    }

    public var name: String
    public var manifestSHA256: String
    public var featureCount: Int
    public var layout: String
    public var fields: [Field]
    public var labels: DatasetManifest.Labels

    public init(manifest: DatasetManifest, sha256: String) {
        name = manifest.name
        manifestSHA256 = sha256
        featureCount = manifest.featureCount
        layout = manifest.layout == .fixed ? "fixed" : "sparse"
        let hashes = Dictionary(manifest.files.map { ($0.path, $0.sha256) }, uniquingKeysWith: { a, _ in a })
        fields = manifest.fields.map {
            Field(
                name: $0.name, offset: $0.offset, cardinality: $0.cardinality, vocabularySHA256: hashes[$0.vocabulary],
                vocabulary: $0.vocabulary.isEmpty ? nil : $0.vocabulary, kind: $0.kind, oov: $0.oov, mean: $0.mean,
                stddev: $0.stddev)
        }
        labels = manifest.labels
    }

    /// Throws `datasetMismatch` unless `other` has the same features (count, fields, offsets,
    /// cardinalities and vocabularies). A different manifest with the same features (e.g. another
    /// seed) is accepted.
    public func checkCompatible(with other: DatasetFingerprint, directory: String) throws {
        var problems: [String] = []
        if featureCount != other.featureCount {
            problems.append("\(other.featureCount) features instead of \(featureCount)")
        }
        if fields.map(\.name) != other.fields.map(\.name) {
            problems.append(
                "fields [\(other.fields.map(\.name).joined(separator: ", "))] instead of [\(fields.map(\.name).joined(separator: ", "))]")
        } else {
            for (a, b) in zip(fields, other.fields) {
                if a.offset != b.offset || a.cardinality != b.cardinality {
                    problems.append("field \(a.name) has \(b.cardinality) values at offset \(b.offset) instead of \(a.cardinality) at \(a.offset)")
                } else if let x = a.vocabularySHA256, let y = b.vocabularySHA256, x != y {
                    problems.append("field \(a.name) has a different vocabulary (value → index mapping)")
                } else if a.kind != b.kind || a.oov != b.oov || a.mean != b.mean || a.stddev != b.stddev {
                    problems.append("field \(a.name) is encoded differently (kind, OOV feature or standardize statistics)")
                }
            }
        }
        if labels != other.labels {
            problems.append("labels \(other.labels.positive)/\(other.labels.negative) instead of \(labels.positive)/\(labels.negative)")
        }
        if !problems.isEmpty {
            throw ModelError(
                .datasetMismatch,
                "\(directory): the checkpoint was trained on dataset '\(name)' (manifest \(manifestSHA256.prefix(12))…) with other features: "
                    + problems.joined(separator: "; "))
        }
    }
}

/// A saved model. Binary format, versions 1 and 2 (same layout; see `version`):
/// ```
/// offset size  field
///  0      8    magic "NFMMODEL"
///  8      4    format version (1 or 2), little-endian
/// 12      4    reserved (0)
/// 16      8    header bytes H (JSON), little-endian
/// 24      8    payload bytes P (Float32 little-endian tensors, in the header's order)
/// 32     64    SHA-256 of bytes [96, 96 + H + P), lowercase hexadecimal
/// 96      H    header: `Checkpoint.Header` as JSON (config, dataset fingerprint, training record,
///              tensor names and sizes, and for `nfm predict` the definition and vocabularies)
/// 96+H    P    tensors
/// ```
public struct Checkpoint: Sendable {
    public static let magic = Array("NFMMODEL".utf8)
    /// The newest format version. Version 2 has the layout of version 1; its header may hold the model
    /// kinds `wide-deep`, `deep-cross` and `hofm` (and `fieldSizes`), which a version-1 reader does not
    /// know. NFM, FM and LR checkpoints are still written as version 1, so older builds read them.
    public static let version: UInt32 = 2
    /// Versions this build reads.
    public static let readableVersions: ClosedRange<UInt32> = 1...2

    /// The version a model's checkpoint is written with: 1 for NFM, FM and LR, 2 for the later kinds.
    public static func version(for config: ModelConfig) -> UInt32 {
        switch config.kind {
        case .nfm, .fm, .lr: 1
        case .wideDeep, .deepCross, .hofm: 2
        }
    }
    static let prefixSize = 96

    public struct Tensor: Codable, Sendable, Equatable {
        public var name: String
        public var count: Int
    }

    /// How the model was trained and how it scored (at the saved epoch).
    public struct Training: Codable, Sendable, Equatable {
        public var epoch: Int
        public var seed: UInt64
        public var optimizer: String
        public var learningRate: Float
        public var batchSize: Int
        public var l2: Float
        public var train: SplitMetrics?
        public var validation: SplitMetrics?
        public var test: SplitMetrics?
    }

    /// A vocabulary file of the dataset, embedded so that a checkpoint alone can encode raw rows.
    public struct EmbeddedFile: Codable, Sendable, Equatable {
        public var path: String
        public var text: String

        public init(path: String, text: String) {
            self.path = path
            self.text = text
        }
    }

    public struct Header: Codable, Sendable {
        public var format = "nfm-checkpoint"
        public var tool = ToolInfo.name
        public var config: ModelConfig
        public var dataset: DatasetFingerprint
        public var training: Training?
        public var definition: DatasetManifest.Definition?
        public var vocabularies: [EmbeddedFile]
        public var tensors: [Tensor]
    }

    public var header: Header
    public var model: Model

    public init(model: Model, dataset: DatasetFingerprint, training: Training?, definition: DatasetManifest.Definition?, vocabularies: [EmbeddedFile]) {
        self.model = model
        header = Header(
            config: model.config, dataset: dataset, training: training, definition: definition,
            vocabularies: vocabularies, tensors: model.namedTensors.map { Tensor(name: $0.name, count: $0.buffer.count) })
    }

    /// Reads the vocabulary files a manifest lists for its fields, to embed them, checking each against
    /// the manifest: the path must be confined to `directory` (`ManifestPath`: relative, no `..`, no
    /// symlink, a regular file) and the bytes must have the SHA-256 of the manifest's `files` entry.
    /// Throws `.manifest` for a path that is unsafe, unlisted or missing, `.vocabulary` for a size or
    /// checksum mismatch.
    public static func vocabularies(of manifest: DatasetManifest, directory: String) throws -> [EmbeddedFile] {
        try manifest.fields.enumerated().compactMap { f, field in
            guard !field.vocabulary.isEmpty else { return nil }
            let bytes = try manifest.readListedFile(field.vocabulary, in: directory, field: "fields[\(f)].vocabulary")
            return EmbeddedFile(path: field.vocabulary, text: String(decoding: bytes, as: UTF8.self))
        }
    }

    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = Array(try encoder.encode(header))
        var payload = [UInt8]()
        let tensors = model.namedTensors
        payload.reserveCapacity(tensors.reduce(0) { $0 + 4 * $1.buffer.count })
        for (_, buffer) in tensors {
            for i in 0..<buffer.count { payload.appendLittleEndian(buffer[i].bitPattern) }
        }
        var body = json
        body.append(contentsOf: payload)
        var out = Self.magic
        out.appendLittleEndian(Self.version(for: model.config))
        out.appendLittleEndian(UInt32(0))
        out.appendLittleEndian(UInt64(json.count))
        out.appendLittleEndian(UInt64(payload.count))
        out.append(contentsOf: Array(SHA256.hexDigest(of: body).utf8))
        out.append(contentsOf: body)
        return out
    }

    /// Writes atomically (temporary file, then rename).
    public func write(to path: String) throws {
        try FileSystem.writeAtomically(try encoded(), to: path)
    }
}
