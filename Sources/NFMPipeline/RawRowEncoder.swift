import Foundation
import NFMFormat

/// One raw row encoded with saved vocabularies (for prediction).
public struct RawRow: Sendable {
    /// 1-based line in the input.
    public let line: Int
    /// Global feature index per field; `UInt32.max` where the value was never seen at build time.
    public let features: [UInt32]
    /// Positions (in the definition's `fields`) whose value was unseen, and those values.
    public let unseenFields: [Int]
    /// The unseen values, in the order of `unseenFields`.
    public let unseenValues: [String]
}

/// Encodes raw rows in a dataset's input format with the vocabularies of its build: value indices from
/// the vocabularies, field offsets their running sums (as the builder assigns them).
public final class RawRowEncoder {
    /// The definition the dataset was built with.
    public let definition: DatasetDefinition
    /// One vocabulary per field, in the definition's `fields` order.
    public let vocabularies: [Vocabulary]
    /// Feature offset of each field: `offsets[f] = Σ_{k<f} |V_k|`.
    public let offsets: [Int]

    /// An encoder over `vocabularies` (one per field of `definition`).
    public init(definition: DatasetDefinition, vocabularies: [Vocabulary]) {
        precondition(vocabularies.count == definition.fields.count)
        self.definition = definition
        self.vocabularies = vocabularies
        var offsets = [0]
        for vocabulary in vocabularies.dropLast() { offsets.append(offsets.last! + vocabulary.count) }
        self.offsets = offsets
    }

    /// Loads the definition and vocabularies recorded in a dataset directory's manifest.
    public convenience init(datasetDirectory: String, manifest: DatasetManifest) throws {
        guard let recorded = manifest.definition else {
            throw NFMError(
                .usage, "dataset has no definition (a libFM import?); raw rows cannot be encoded",
                at: .init(file: datasetDirectory))
        }
        let definition = try DatasetDefinition.parse(text: recorded.text, file: recorded.file)
        guard manifest.fields.map(\.name) == definition.fields else {
            throw NFMError(
                .manifest, "fields \(manifest.fields.map(\.name)) differ from the recorded definition's \(definition.fields)",
                at: .init(file: datasetDirectory + "/" + DatasetManifest.fileName, field: "fields"))
        }
        let vocabularies = try manifest.fields.map { try Vocabulary.load(path: datasetDirectory + "/" + $0.vocabulary) }
        self.init(definition: definition, vocabularies: vocabularies)
    }

    /// Streams `path` (same format as the dataset's input; only the field columns are required) and calls
    /// `body` per data row. Malformed rows are errors with file, line and column.
    public func encode(path: String, _ body: (RawRow) throws -> Void) throws {
        let name = (path as NSString).lastPathComponent
        let reader = try DelimitedReader(
            path: path, format: try BuildPlan.readerFormat(of: definition.input, file: definition.sourceFile))
        var mapping: HeaderMapping? =
            definition.input.header
            ? nil : try HeaderMapping(columns: definition.columns, fields: definition.fields, file: name)
        try reader.forEachRecord { row in
            guard let known = mapping else {
                mapping = try HeaderMapping(header: row, required: definition.fields, fields: definition.fields, file: name)
                return
            }
            if let problem = row.problem ?? known.fieldCountProblem(row) {
                throw NFMError(.input, file: name, line: problem.line, column: problem.column, problem.message)
            }
            let columnOfField = known.columnOfField
            var features = [UInt32](repeating: .max, count: columnOfField.count)
            var unseen: [Int] = []
            var values: [String] = []
            for (f, column) in columnOfField.enumerated() {
                if let index = vocabularies[f].index(of: row.field(column)) {
                    features[f] = UInt32(offsets[f] + index)
                } else {
                    unseen.append(f)
                    values.append(row.string(column))
                }
            }
            try body(RawRow(line: row.line, features: features, unseenFields: unseen, unseenValues: values))
        }
        guard mapping != nil else {
            throw NFMError(.input, file: name, line: 1, column: 1, "empty file: expected a header line")
        }
    }
}
