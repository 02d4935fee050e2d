import Foundation

/// `manifest.json`: the complete, checksummed description of a dataset directory (SPEC §6).
///
/// It is written last and atomically by the builder; `DatasetVerifier` checks every file against it.
/// It holds no timestamps, host names or thread counts, so equal builds give byte-equal manifests.
public struct DatasetManifest: Codable, Sendable, Equatable {
    public static let fileName = "manifest.json"
    /// The manifest's own checksum: one line `<sha256 hex>  manifest.json` (the `sha256sum` format).
    public static let checksumFileName = "manifest.sha256"
    public static let currentFormat = "nfm-dataset"
    public static let currentVersion = 1

    public struct Definition: Codable, Sendable, Equatable {
        public var file: String
        public var sha256: String
        public var text: String
        public init(file: String, sha256: String, text: String) {
            self.file = file
            self.sha256 = sha256
            self.text = text
        }
    }

    public struct Input: Codable, Sendable, Equatable {
        public var name: String
        public var bytes: Int
        public var sha256: String
        public init(name: String, bytes: Int, sha256: String) {
            self.name = name
            self.bytes = bytes
            self.sha256 = sha256
        }
    }

    public struct Counts: Codable, Sendable, Equatable {
        public var rowsRead = 0
        public var rowsRejected = 0
        public var positives = 0
        public var negatives = 0
        public var unsampleableRows = 0
        public var train = 0
        public var validation = 0
        public var test = 0
        public var instances: Int { train + validation + test }
        public init() {}
    }

    public struct Field: Codable, Sendable, Equatable {
        public var name: String
        public var offset: Int
        public var cardinality: Int
        public var vocabulary: String
        /// The field's kind when it is not plain categorical: `numeric` or `multi` (definition version 2).
        public var kind: String?
        /// Local index (0-based, within the field) of the out-of-vocabulary feature, when the field has one.
        public var oov: Int?
        /// Mean μ of a standardized numeric field over the train split: x ↦ (x − μ) / σ.
        public var mean: Double?
        /// Standard deviation σ of a standardized numeric field over the train split (1 when it was 0).
        public var stddev: Double?

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
        /// Smallest and largest label of the instances.
        public var minimum: Float
        public var maximum: Float
        /// Mean label of the instances.
        public var mean: Double
        /// Instances whose label is `maximum` (binary labels: the positive class).
        public var atMaximum: Int

        public init(column: String, type: String, minimum: Float, maximum: Float, mean: Double, atMaximum: Int) {
            self.column = column
            self.type = type
            self.minimum = minimum
            self.maximum = maximum
            self.mean = mean
            self.atMaximum = atMaximum
        }
    }

    public struct Labels: Codable, Sendable, Equatable {
        public var positive: Float
        public var negative: Float
        public init(positive: Float, negative: Float) {
            self.positive = positive
            self.negative = negative
        }
    }

    /// A checksummed file of the dataset (vocabulary, rejects …), path relative to the directory.
    public struct File: Codable, Sendable, Equatable {
        public var path: String
        public var bytes: Int
        public var sha256: String
        public init(path: String, bytes: Int, sha256: String) {
            self.path = path
            self.bytes = bytes
            self.sha256 = sha256
        }
    }

    public struct Shard: Codable, Sendable, Equatable {
        public var split: Split
        public var file: String
        public var rows: Int
        public var bytes: Int
        public var sha256: String
        public init(split: Split, file: String, rows: Int, bytes: Int, sha256: String) {
            self.split = split
            self.file = file
            self.rows = rows
            self.bytes = bytes
            self.sha256 = sha256
        }
    }

    public var format = DatasetManifest.currentFormat
    public var formatVersion = DatasetManifest.currentVersion
    public var tool: String
    public var name: String
    public var definition: Definition?
    public var seed: UInt64
    public var negativeRule: String?
    public var inputs: [Input]
    public var counts: Counts
    public var labels: Labels
    /// The explicit label column's summary (labelled builds; absent when negatives were sampled).
    public var label: LabelSummary?
    public var layout: ShardBlock.Layout
    public var fields: [Field]
    public var featureCount: Int
    public var files: [File]
    public var shards: [Shard]

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
    case train, validation, test

    public static func < (a: Split, b: Split) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}
