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
public struct DatasetDefinition: Codable, Sendable, Equatable {
    public struct Input: Codable, Sendable, Equatable {
        public var delimiter: String
        public var quote: String?
        public var header: Bool
    }

    public struct Labels: Codable, Sendable, Equatable {
        public var positive: Float
        public var negative: Float
    }

    public struct Negatives: Codable, Sendable, Equatable {
        public var field: String
        public var perPositive: Int
        public var rule: String
        public var rules: [String: [String]]
    }

    public struct SplitRatios: Codable, Sendable, Equatable {
        public var train: Double
        public var validation: Double
        public var test: Double
        public init(train: Double, validation: Double, test: Double) {
            self.train = train
            self.validation = validation
            self.test = test
        }
    }

    public var name: String
    public var input: Input
    public var columns: [String]
    public var fields: [String]
    public var labels: Labels
    public var negatives: Negatives
    public var split: SplitRatios
    public var seed: UInt64
    public var shardRows: Int
    public var zstdLevel: Int

    /// The definition file's exact text and where it came from (kept for the manifest).
    public private(set) var sourceText = ""
    public private(set) var sourceFile = ""

    enum CodingKeys: String, CodingKey {
        case name, input, columns, fields, labels, negatives, split, seed, shardRows, zstdLevel
    }

    public static func load(path: String) throws -> DatasetDefinition {
        let bytes: [UInt8]
        do { bytes = try ReadableFile.readAll(path) } catch {
            throw PipelineError(.definition, "\(path): cannot read definition (\(error))")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw PipelineError(.definition, "\(path): definition is not valid UTF-8")
        }
        return try parse(text: text, file: (path as NSString).lastPathComponent)
    }

    /// Parses and validates a definition; `file` names it in errors.
    public static func parse(text: String, file: String) throws -> DatasetDefinition {
        var definition: DatasetDefinition
        do {
            definition = try JSONDecoder().decode(DatasetDefinition.self, from: Data(text.utf8))
        } catch let DecodingError.keyNotFound(key, context) {
            throw PipelineError(
                .definition, "\(file): missing key '\(path(context.codingPath + [key]))'")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw PipelineError(
                .definition, "\(file): '\(path(context.codingPath))': \(context.debugDescription)")
        } catch {
            throw PipelineError(.definition, "\(file): not valid JSON (\(error))")
        }
        definition.sourceText = text
        definition.sourceFile = file
        try definition.validate()
        return definition
    }

    private static func path(_ keys: [CodingKey]) -> String { keys.map(\.stringValue).joined(separator: ".") }

    private func validate() throws {
        func fail(_ what: String) -> PipelineError { PipelineError(.definition, "\(sourceFile): \(what)") }
        guard input.delimiter.utf8.count == 1 else { throw fail("input.delimiter must be one byte") }
        if let quote = input.quote, quote.utf8.count != 1 { throw fail("input.quote must be one byte") }
        guard !fields.isEmpty else { throw fail("fields is empty") }
        guard Set(columns).count == columns.count else { throw fail("columns repeat a name") }
        guard Set(fields).count == fields.count else { throw fail("fields repeat a name") }
        for field in fields where !columns.contains(field) {
            throw fail("field '\(field)' is not one of the columns \(columns)")
        }
        guard fields.contains(negatives.field) else {
            throw fail("negatives.field '\(negatives.field)' is not one of the fields")
        }
        guard negatives.perPositive >= 0 else { throw fail("negatives.perPositive must be ≥ 0") }
        guard rules[negatives.rule] != nil else {
            throw fail("negatives.rule '\(negatives.rule)' is not one of \(rules.keys.sorted())")
        }
        for (name, key) in negatives.rules {
            for field in key where !fields.contains(field) || field == negatives.field {
                throw fail("negatives.rules.\(name): '\(field)' must be a field other than '\(negatives.field)'")
            }
        }
        let ratios = [split.train, split.validation, split.test]
        guard ratios.allSatisfy({ $0 >= 0 }), abs(ratios.reduce(0, +) - 1) < 1e-9 else {
            throw fail("split ratios must be ≥ 0 and sum to 1")
        }
        guard shardRows > 0 else { throw fail("shardRows must be > 0") }
        guard (1...22).contains(zstdLevel) else { throw fail("zstdLevel must be 1…22") }
        guard labels.positive != labels.negative else { throw fail("labels must differ") }
    }

    private var rules: [String: [String]] { negatives.rules }

    /// Positions in `fields` of the rule key for `rule` (the definition's own rule when nil).
    public func ruleKey(_ rule: String? = nil) throws -> [Int] {
        let name = rule ?? negatives.rule
        guard let key = negatives.rules[name] else {
            throw PipelineError(
                .usage, "unknown negative rule '\(name)'; \(sourceFile) defines \(negatives.rules.keys.sorted())")
        }
        return key.map { fields.firstIndex(of: $0)! }
    }

    /// Index of the corrupted field in `fields`.
    public var corruptedField: Int { fields.firstIndex(of: negatives.field)! }
}
