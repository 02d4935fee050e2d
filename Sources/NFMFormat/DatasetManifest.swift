import Foundation

/// `manifest.json`: the complete, checksummed description of a dataset directory (SPEC §6).
///
/// It is written last and atomically by the builder; `DatasetVerifier` checks every file against it.
/// It holds no timestamps, host names or thread counts, so equal builds give byte-equal manifests.
public struct DatasetManifest: Codable, Sendable, Equatable {
    /// The manifest's file name in a dataset directory.
    public static let fileName = "manifest.json"
    /// The manifest's own checksum: one line `<sha256 hex>  manifest.json` (the `sha256sum` format).
    public static let checksumFileName = "manifest.sha256"
    /// The value of `format` this build writes and reads.
    public static let currentFormat = "nfm-dataset"
    /// The value of `formatVersion` this build writes and reads.
    public static let currentVersion = 1

    /// The definition a dataset was built from, copied whole so the dataset describes itself.
    public struct Definition: Codable, Sendable, Equatable {
        /// The definition file's base name.
        public var file: String
        /// SHA-256 of the definition file's bytes, lowercase hexadecimal.
        public var sha256: String
        /// The definition file's full text.
        public var text: String
        /// A definition record of `file`, whose bytes hash to `sha256` and read as `text`.
        public init(file: String, sha256: String, text: String) {
            self.file = file
            self.sha256 = sha256
            self.text = text
        }
    }

    /// One raw input file of the build.
    public struct Input: Codable, Sendable, Equatable {
        /// The file's base name.
        public var name: String
        /// The file's size in bytes.
        public var bytes: Int
        /// SHA-256 of the file's bytes, lowercase hexadecimal.
        public var sha256: String
        /// A record of input `name` of `bytes` bytes hashing to `sha256`.
        public init(name: String, bytes: Int, sha256: String) {
            self.name = name
            self.bytes = bytes
            self.sha256 = sha256
        }
    }

    /// What the build read and produced.
    public struct Counts: Codable, Sendable, Equatable {
        /// Data rows read from the inputs (headers excluded).
        public var rowsRead = 0
        /// Rows rejected (logged in the rejects file) and not encoded.
        public var rowsRejected = 0
        /// Positive instances: one per accepted row (libFM imports: rows of the higher label, when there are
        /// at most two labels).
        public var positives = 0
        /// Sampled negative instances (`perPositive` per sampleable positive; libFM imports: rows of the lower label).
        public var negatives = 0
        /// Positive rows for which no negative could be drawn (every value of the corrupted field is positive
        /// for their key).
        public var unsampleableRows = 0
        /// Instances stored in the training split.
        public var train = 0
        /// Instances stored in the validation split.
        public var validation = 0
        /// Instances stored in the test split.
        public var test = 0
        /// All stored instances: `train + validation + test`.
        public var instances: Int { train + validation + test }
        /// All counts 0.
        public init() {}
    }

    /// One field (categorical, numeric or multi-valued) and its slice of the global feature indices.
    public struct Field: Codable, Sendable, Equatable {
        /// The field's name (from the definition).
        public var name: String
        /// The field's first global feature index.
        public var offset: Int
        /// Number of feature indices the field owns (`offset ..< offset + cardinality`).
        public var cardinality: Int
        /// Path of the field's vocabulary file relative to the dataset directory; `""` when there is none (imports).
        public var vocabulary: String
        /// The field's kind when it is not plain categorical: `numeric` or `multi` (definition version 2).
        public var kind: String?
        /// Local index (0-based, within the field) of the out-of-vocabulary feature, when the field has one.
        public var oov: Int?
        /// Mean μ of a standardized numeric field over the train split: x ↦ (x − μ) / σ.
        public var mean: Double?
        /// Standard deviation σ of a standardized numeric field over the train split (1 when it was 0).
        public var stddev: Double?

        /// A field record (`kind`, `oov`, `mean` and `stddev` absent for a plain categorical field).
        public init(
            name: String, offset: Int, cardinality: Int, vocabulary: String, kind: String? = nil, oov: Int? = nil,
            mean: Double? = nil, stddev: Double? = nil
        ) {
            self.name = name
            self.offset = offset
            self.cardinality = cardinality
            self.vocabulary = vocabulary
            self.kind = kind
            self.oov = oov
            self.mean = mean
            self.stddev = stddev
        }
    }

    /// What an explicit label column held (labelled builds only): its column, type and range.
    public struct LabelSummary: Codable, Sendable, Equatable {
        /// The label column.
        public var column: String
        /// `binary` or `real`.
        public var type: String
        /// Smallest label of the instances.
        public var minimum: Float
        /// Largest label of the instances.
        public var maximum: Float
        /// Mean label of the instances.
        public var mean: Double
        /// Instances whose label is `maximum` (binary labels: the positive class).
        public var atMaximum: Int

        /// A summary of the label column `column`.
        public init(column: String, type: String, minimum: Float, maximum: Float, mean: Double, atMaximum: Int) {
            self.column = column
            self.type = type
            self.minimum = minimum
            self.maximum = maximum
            self.mean = mean
            self.atMaximum = atMaximum
        }
    }

    /// The label values stored for positive and negative instances (e.g. 1 / −1).
    public struct Labels: Codable, Sendable, Equatable {
        /// The label of positive instances.
        public var positive: Float
        /// The label of negative instances.
        public var negative: Float
        /// A label pair.
        public init(positive: Float, negative: Float) {
            self.positive = positive
            self.negative = negative
        }
    }

    /// A checksummed file of the dataset (vocabulary, rejects …), path relative to the directory.
    public struct File: Codable, Sendable, Equatable {
        /// The path relative to the dataset directory (normalised, no `..`).
        public var path: String
        /// The file's size in bytes.
        public var bytes: Int
        /// SHA-256 of the file's bytes, lowercase hexadecimal.
        public var sha256: String
        /// A record of `path` of `bytes` bytes hashing to `sha256`.
        public init(path: String, bytes: Int, sha256: String) {
            self.path = path
            self.bytes = bytes
            self.sha256 = sha256
        }
    }

    /// One shard file, listed in stored order.
    public struct Shard: Codable, Sendable, Equatable {
        /// The split the shard's rows belong to.
        public var split: Split
        /// The shard's path relative to the dataset directory (e.g. `train/part-00000.nfms`).
        public var file: String
        /// Number of instances in the shard.
        public var rows: Int
        /// The file's size in bytes.
        public var bytes: Int
        /// SHA-256 of the file's bytes, lowercase hexadecimal.
        public var sha256: String
        /// A record of shard `file` of `split`.
        public init(split: Split, file: String, rows: Int, bytes: Int, sha256: String) {
            self.split = split
            self.file = file
            self.rows = rows
            self.bytes = bytes
            self.sha256 = sha256
        }
    }

    /// Always `"nfm-dataset"` (`currentFormat`).
    public var format = DatasetManifest.currentFormat
    /// The layout version (`currentVersion`); a reader refuses another.
    public var formatVersion = DatasetManifest.currentVersion
    /// Writer name and version, e.g. `"nfm 0.1.0"`.
    public var tool: String
    /// The dataset's name (the definition's `name`; `"libfm-import"` for imports).
    public var name: String
    /// The definition the dataset was built from; nil for libFM imports.
    public var definition: Definition?
    /// Seed of the negatives, the split and the order (0 for imports).
    public var seed: UInt64
    /// The negative-sampling rule used (`user`, `context`, …); nil for imports.
    public var negativeRule: String?
    /// The raw input files, in the order given.
    public var inputs: [Input]
    /// What the build read and produced.
    public var counts: Counts
    /// The label values.
    public var labels: Labels
    /// The explicit label column's summary (labelled builds; absent when negatives were sampled).
    public var label: LabelSummary?
    /// The layout of every shard.
    public var layout: ShardBlock.Layout
    /// The fields in feature-offset order.
    public var fields: [Field]
    /// Number of features; every global feature index is below it.
    public var featureCount: Int
    /// The checksummed non-shard files (vocabularies, rejects).
    public var files: [File]
    /// The shards in stored order.
    public var shards: [Shard]

    /// A manifest with every field given (`format` and `formatVersion` take the current values).
    public init(
        tool: String, name: String, definition: Definition?, seed: UInt64, negativeRule: String?,
        inputs: [Input], counts: Counts, labels: Labels, layout: ShardBlock.Layout, fields: [Field],
        featureCount: Int, files: [File], shards: [Shard]
    ) {
        self.tool = tool
        self.name = name
        self.definition = definition
        self.seed = seed
        self.negativeRule = negativeRule
        self.inputs = inputs
        self.counts = counts
        self.labels = labels
        self.layout = layout
        self.fields = fields
        self.featureCount = featureCount
        self.files = files
        self.shards = shards
    }

    /// The shards of `split`, in stored order.
    public func shards(in split: Split) -> [Shard] { shards.filter { $0.split == split } }

    /// Canonical JSON bytes: sorted keys, pretty-printed, trailing newline.
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [10]
    }

    /// Writes `manifest.json` and then `manifest.sha256`, each atomically; the dataset is complete only
    /// when both are present and agree.
    public func write(to directory: String) throws {
        let bytes = try encoded()
        try FileSystem.writeAtomically(bytes, to: directory + "/" + Self.fileName)
        let line = "\(SHA256.hexDigest(of: bytes))  \(Self.fileName)\n"
        try FileSystem.writeAtomically(Array(line.utf8), to: directory + "/" + Self.checksumFileName)
    }
}

/// The three splits, in storage order.
public enum Split: String, Codable, Sendable, CaseIterable, Comparable {
    /// `train` (70 % by default), `validation` (20 %), `test` (10 %): the paper's split.
    case train, validation, test

    /// Storage order: train, validation, test.
    public static func < (a: Split, b: Split) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}
