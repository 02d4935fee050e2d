import Foundation
import NFMFormat

/// A dataset definition (`pipelines/*.json`): everything that turns one raw categorical log into shards.
///
/// ```json
/// {
///   "name": "frappe",
///   "input": { "delimiter": "\t", "quote": "\"", "header": true },
///   "columns": ["user", "item", "cnt", "daytime", ...],
///   "fields": ["user", "item", "daytime", ...],
///   "labels": { "positive": 1, "negative": -1 },
///   "negatives": { "field": "item", "perPositive": 2, "rule": "user",
///                  "rules": { "user": ["user"], "context": ["user", "daytime", ...] } },
///   "split": { "train": 0.7, "validation": 0.2, "test": 0.1 },
///   "seed": 2017, "shardRows": 65536, "zstdLevel": 3
/// }
/// ```
/// `columns` are the header names the input must contain (any order, extra columns ignored); `fields` the
/// columns one-hot encoded, in feature-offset order. A negative copies a positive and replaces
/// `negatives.field` with a value that the positive's *rule key* (the listed fields) never had.
///
/// Version 2 adds an explicit label column instead of sampled negatives, and typed fields (`FieldSpec`):
/// ```json
/// {
///   "name": "criteo",
///   "input": { "delimiter": "," },
///   "label": { "column": "label", "type": "binary" },
///   "minCount": 10,
///   "fields": [ { "name": "I1", "type": "numeric", "transform": "log1p", "missing": "own-value" },
///               { "name": "C1", "missing": "oov" }, "C2" ]
/// }
/// ```
/// Defaults of optional keys: `input.quote` `"` (null: no quoting), `input.header` true, `columns` the
/// fields' and the label's columns, `minCount` 1, `split` 0.7/0.2/0.1, `seed` 2017, `shardRows` 65,536,
/// `zstdLevel` 3. Exactly one of `label` and `negatives` (with `labels`) is given.
public struct DatasetDefinition: Sendable, Equatable {
    /// How the raw log is delimited and quoted.
    public struct Input: Sendable, Equatable {
        /// The one-byte field delimiter (not a line break).
        public var delimiter: String
        /// The one-byte RFC 4180 quote, or nil for no quoting.
        public var quote: String?
        /// Whether the first line names the columns.
        public var header: Bool
    }

    /// The label values written for positives and negatives.
    public struct Labels: Sendable, Equatable {
        /// Label of the logged (positive) rows.
        public var positive: Float
        /// Label of the sampled negatives (finite, different from `positive`).
        public var negative: Float
    }

    /// Negative sampling: the corrupted field, how many per positive, and the named rule keys.
    public struct Negatives: Sendable, Equatable {
        /// The field whose value a negative replaces.
        public var field: String
        /// Negatives per positive (`Limits.perPositive`).
        public var perPositive: Int
        /// The default rule (one of `rules`).
        public var rule: String
        /// Named rule keys: the fields a negative's value must never have been seen with.
        public var rules: [String: [String]]
    }

    /// Train/validation/test ratios (finite, ≥ 0, summing to 1).
    public struct SplitRatios: Sendable, Equatable {
        /// Share of instances in the train split.
        public var train: Double
        /// Share of instances in the validation split.
        public var validation: Double
        /// Share of instances in the test split.
        public var test: Double
        /// Ratios as given (checked by `DatasetDefinition.validate()`).
        public init(train: Double, validation: Double, test: Double) {
            self.train = train
            self.validation = validation
            self.test = test
        }
    }

    /// The dataset's name (1…255 bytes).
    public var name: String
    /// How the raw log is delimited and quoted.
    public var input: Input
    /// Header columns the input must contain (any order; others are ignored).
    public var columns: [String]
    /// The fields' names (their columns), in feature-offset order.
    public var fields: [String]
    /// How each field encodes its cells, in the order of `fields` (version 1: all categorical).
    public var fieldSpecs: [FieldSpec]
    /// Label values of positives and sampled negatives; nil with an explicit `label` column.
    public var labels: Labels?
    /// Negative sampling; nil with an explicit `label` column.
    public var negatives: Negatives?
    /// The explicit label column (definition version 2); nil when negatives are sampled.
    public var label: LabelColumn?
    /// The default `minCount` of fields that do not set their own (1: keep every value).
    public var minCount: Int
    /// Train/validation/test ratios.
    public var split: SplitRatios
    /// Default seed for negatives, split and order.
    public var seed: UInt64
    /// Rows per shard (`Limits.shardRows` and `Limits.maximumShardRows(fieldCount:)`).
    public var shardRows: Int
    /// zstd compression level (1…22).
    public var zstdLevel: Int

    /// The definition file's exact text (kept for the manifest).
    public internal(set) var sourceText = ""
    /// The definition's file name, used in messages and the manifest.
    public internal(set) var sourceFile = ""
    /// Where each value was in the file, by dotted key path (`input.quote`, `fields[2]`), for messages.
    var locations: [String: SourceLocation] = [:]

    /// Reads and validates a definition file (at most `StrictJSON.maximumBytes`); errors name the file.
    public static func load(path: String) throws -> DatasetDefinition {
        let file = (path as NSString).lastPathComponent
        let bytes: [UInt8]
        do { bytes = try ReadableFile.readAll(path) } catch let error as NFMError {
            throw NFMError(error.code, "cannot read the definition: \(error.message)", at: .init(file: path), cause: error)
        }
        return try parse(bytes, file: file)
    }

    /// Parses and validates a definition; `file` names it in errors.
    public static func parse(text: String, file: String) throws -> DatasetDefinition {
        try parse(Array(text.utf8), file: file)
    }

    /// Parses and validates a definition from raw bytes (the entry point of the fuzz harness): strict
    /// JSON (no duplicate keys), only known keys, typed values, then `validate()`. Throws only
    /// `NFMError` with code `.definition` and, where there is one, the line and column in `file`.
    public static func parse(_ bytes: [UInt8], file: String) throws -> DatasetDefinition {
        let root = try StrictJSON.parse(bytes, file: file)
        var definition = try decode(root, file: file)
        definition.sourceText = String(decoding: bytes, as: UTF8.self)
        try definition.validate()
        return definition
    }

    /// Positions in `fields` of the rule key for `rule` (the definition's own rule when nil); an unknown
    /// rule is a usage error (it comes from `--rule`), and so is any rule for a definition that samples
    /// no negatives.
    public func ruleKey(_ rule: String? = nil) throws -> [Int] {
        guard let negatives else {
            throw NFMError(.usage, "\(sourceFile) has an explicit label column and samples no negatives; --rule does not apply")
        }
        let name = rule ?? negatives.rule
        guard let key = negatives.rules[name] else {
            throw NFMError(
                .usage,
                "unknown negative rule '\(NFMError.excerpt(name))'; \(sourceFile) defines \(NFMError.excerpt("\(negatives.rules.keys.sorted())"))")
        }
        return try key.map { field in
            guard let index = fields.firstIndex(of: field) else {
                throw DatasetDefinition.error(
                    "is not one of the fields", file: sourceFile, at: nil, key: "negatives.rules.\(name)", value: field)
            }
            return index
        }
    }

    /// Index of the corrupted field in `fields` (`validate()` guarantees it is one of them; 0 otherwise).
    public var corruptedField: Int { negatives.flatMap { fields.firstIndex(of: $0.field) } ?? 0 }

    /// Whether instances come from an explicit label column (no negatives sampled).
    public var hasLabelColumn: Bool { label != nil }

    /// Whether every field gives each row exactly one feature of value 1, so shards use the fixed layout.
    public var isOneHot: Bool { fieldSpecs.allSatisfy(\.isOneHot) }
}
