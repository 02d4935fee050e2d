import Foundation
import NFMFormat

/// One raw row encoded with saved vocabularies (for prediction).
public struct RawRow: Sendable {
    /// 1-based line in the input.
    public let line: Int
    /// Global feature index of each entry, in field order; `UInt32.max` for a value never seen at build
    /// time in a field without an OOV feature. With categorical fields only: one entry per field.
    public let features: [UInt32]
    /// The value xᵢ of each entry of `features` (1 for one-hot values).
    public let values: [Float]
    /// Positions (in the definition's `fields`) whose value was unseen, and those values (a multi-valued
    /// cell may add its field several times).
    public let unseenFields: [Int]
    /// The unseen values, in the order of `unseenFields`.
    public let unseenValues: [String]
    /// Fields (positions, once per entry) whose value went to the field's OOV feature: values kept out of
    /// the vocabulary (rare or never seen) and, with `missing: oov`, empty cells.
    public let oovFields: [Int]
}

/// Encodes raw rows in a dataset's input format exactly as its build did: per field, kept values from
/// the vocabularies (OOV feature for the rest, when the field has one), numbers transformed (standardized
/// with the build's statistics) or bucketized, multi-valued cells split and weighted, entries in field
/// order (see `FieldEncoding`). The label column, if any, is not read.
public final class RawRowEncoder {
    /// The definition the dataset was built with.
    public let definition: DatasetDefinition
    /// Per field, in the definition's `fields` order: how its cells become features.
    public let fields: [FieldEncoding]
    /// Feature offset of each field.
    public var offsets: [Int] { fields.map(\.offset) }
    /// The kept values of each field (empty for kept numbers), in the definition's `fields` order.
    public let vocabularies: [Vocabulary]
    /// Whether some entry may have a value other than 1 (so predictions need `SparseRows.values`).
    public var hasValues: Bool { fields.contains { $0.hasValues } }
    /// Per field, what the per-cell loop reads (plain values: no reference counting per cell).
    private let codes: [RawCellCode]

    /// An encoder over `fields` (one per field of `definition`, as `FieldEncoding.init` checked them).
    public init(definition: DatasetDefinition, fields: [FieldEncoding]) {
        precondition(fields.count == definition.fields.count)
        self.definition = definition
        self.fields = fields
        vocabularies = fields.map { $0.vocabulary ?? Vocabulary() }
        codes = fields.map(RawCellCode.init)
    }

    /// An encoder of a definition whose fields are all plain categorical (every value kept), over one
    /// vocabulary per field; field offsets are the running sums `offsets[f] = Σ_{k<f} |V_k|` (as the
    /// version-1 builder assigns them). Other fields are a `.definition` error.
    public convenience init(definition: DatasetDefinition, vocabularies: [Vocabulary]) throws {
        precondition(vocabularies.count == definition.fields.count)
        var offset = 0
        var fields: [FieldEncoding] = []
        for (spec, vocabulary) in zip(definition.fieldSpecs, vocabularies) {
            fields.append(
                try FieldEncoding(
                    spec: spec, offset: offset, cardinality: vocabulary.count, kind: nil, vocabulary: vocabulary, oov: nil,
                    mean: nil, stddev: nil, code: .definition, file: definition.sourceFile))
            offset += vocabulary.count
        }
        self.init(definition: definition, fields: fields)
    }

    /// Loads the definition, vocabularies and field encodings recorded in a dataset directory's manifest;
    /// an encoding the definition cannot have produced is a `.manifest` error.
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
        let file = datasetDirectory + "/" + DatasetManifest.fileName
        let fields = try zip(definition.fieldSpecs, manifest.fields).map { spec, field in
            try FieldEncoding(
                spec: spec, offset: field.offset, cardinality: field.cardinality, kind: field.kind,
                vocabulary: field.vocabulary.isEmpty ? nil : try Vocabulary.load(path: datasetDirectory + "/" + field.vocabulary),
                oov: field.oov, mean: field.mean, stddev: field.stddev, code: .manifest, file: file)
        }
        self.init(definition: definition, fields: fields)
    }

    /// Streams `path` (same format as the dataset's input, only the field columns are required; a `.gz` or
    /// `.zst` file is decompressed, `-` is standard input) and calls `body` per data row. Malformed rows
    /// (and numeric cells that are not numbers) are `.input` errors with file, line and column.
    public func encode(path: String, _ body: (RawRow) throws -> Void) throws {
        let name = path == "-" ? "<stdin>" : (path as NSString).lastPathComponent
        let reader = try DelimitedReader(
            source: try RawInput(path: path, hashing: false), name: name,
            format: try BuildPlan.readerFormat(of: definition.input, file: definition.sourceFile))
        var mapping: HeaderMapping? =
            definition.input.header
            ? nil : try HeaderMapping(columns: definition.columns, fields: definition.fields, file: name)
        var row = RowBuilder()
        try reader.forEachRecord { record in
            guard let known = mapping else {
                mapping = try HeaderMapping(header: record, required: definition.fields, fields: definition.fields, file: name)
                return
            }
            if let problem = record.problem ?? known.fieldCountProblem(record) {
                throw NFMError(.input, file: name, line: problem.line, column: problem.column, problem.message)
            }
            row.reset()
            for (f, column) in known.columnOfField.enumerated() {
                try encodeCell(f, record, column, into: &row, file: name)
            }
            try body(row.finish(line: record.line))
        }
        guard mapping != nil else {
            throw NFMError(.input, file: name, line: 1, column: 1, "empty file: expected a header line")
        }
    }

    /// Appends field `f`'s entries for the cell at `column` of `record` (see `FieldEncoding`).
    @inline(__always)
    private func encodeCell(
        _ f: Int, _ record: DelimitedReader.Record, _ column: Int, into row: inout RowBuilder, file: String
    ) throws {
        let code = codes[f]
        let cell = record.field(column)
        switch code.cell {
        case .categorical(let emptyIsOOV):
            if cell.isEmpty && emptyIsOOV {
                row.appendOOV(f, code)
            } else {
                row.resolve(f, code, vocabularies[f].index(of: cell), cell, value: 1)
            }
        case .multi(let separator, let meanWeight):
            let pieces = MultiCell.valueCount(in: cell, separator: separator)
            let weight: Float = meanWeight && pieces > 0 ? 1 / Float(pieces) : 1
            MultiCell.forEachValue(in: cell, separator: separator) { piece in
                row.resolve(f, code, vocabularies[f].index(of: piece), piece, value: weight)
            }
        case .number(_, let missingOwnValue), .bucketized(let missingOwnValue):
            try encodeNumber(f, code, missingOwnValue, record, column, into: &row, file: file)
        }
    }

    /// A numeric cell: empty (`missing`), bucketized (looked up by its bucket's name) or kept as xᵢ.
    private func encodeNumber(
        _ f: Int, _ code: RawCellCode, _ missingOwnValue: Bool, _ record: DelimitedReader.Record, _ column: Int,
        into row: inout RowBuilder, file: String
    ) throws {
        let cell = record.field(column)
        let isBucket = code.cell == .bucketized(missingOwnValue: missingOwnValue)
        guard !cell.isEmpty else {
            guard missingOwnValue else { return }
            if isBucket {
                row.resolve(f, code, vocabularies[f].index(of: cell), cell, value: 1)
            } else {
                row.append(code.offset + 1, 1)
            }
            return
        }
        let field = fields[f]
        let x: Double
        switch NumericCell.number(cell, transform: field.spec.keptTransform) {
        case .success(let value): x = value
        case .failure(let problem):
            throw NFMError(
                .input, file: file, line: record.line(ofField: column), column: record.column(ofField: column),
                "field \(field.spec.name): \(problem.message), found '\(NFMError.excerpt(record.string(column)))'")
        }
        guard isBucket else {
            row.append(code.offset, field.value(of: x))
            return
        }
        var name = field.spec.bucketName(x)
        name.withUTF8 { row.resolve(f, code, vocabularies[f].index(of: $0), $0, value: 1) }
    }
}

/// A field's `CellCode` with its place among the features, as plain values.
private struct RawCellCode {
    let cell: CellCode
    /// The field's first global index (`FieldEncoding.init` keeps `offset + cardinality` within 32 bits).
    let offset: UInt32
    /// Global index of the OOV feature, when the field has one.
    let oov: UInt32?

    init(_ field: RawRowEncoder.FieldEncoding) {
        cell = field.spec.cellCode
        offset = UInt32(truncatingIfNeeded: field.offset)
        oov = field.oov.map { UInt32(truncatingIfNeeded: field.offset + $0) }
    }
}

/// The entries of the row being encoded.
private struct RowBuilder {
    var features: [UInt32] = []
    var values: [Float] = []
    var unseenFields: [Int] = []
    var unseenValues: [String] = []
    var oovFields: [Int] = []

    /// Empties the entries, keeping the buffers (the previous `RawRow` is gone by then, so no copy).
    mutating func reset() {
        features.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        unseenFields.removeAll(keepingCapacity: true)
        unseenValues.removeAll(keepingCapacity: true)
        oovFields.removeAll(keepingCapacity: true)
    }

    mutating func append(_ feature: UInt32, _ value: Float) {
        features.append(feature)
        values.append(value)
    }

    /// The field's OOV feature, counted in `oovFields`.
    @inline(__always)
    mutating func appendOOV(_ f: Int, _ code: RawCellCode, value: Float = 1) {
        append(code.oov ?? code.offset, value)
        oovFields.append(f)
    }

    /// A value `bytes` of a vocabulary field, with its kept `index` if any: that feature, else the OOV
    /// feature, else an unseen entry (`.max`).
    @inline(__always)
    mutating func resolve(_ f: Int, _ code: RawCellCode, _ index: Int?, _ bytes: UnsafeBufferPointer<UInt8>, value: Float) {
        if let index {
            append(code.offset + UInt32(truncatingIfNeeded: index), value)
        } else if code.oov != nil {
            appendOOV(f, code, value: value)
        } else {
            append(.max, value)
            unseenFields.append(f)
            unseenValues.append(String(decoding: bytes, as: UTF8.self))
        }
    }

    func finish(line: Int) -> RawRow {
        RawRow(
            line: line, features: features, values: values, unseenFields: unseenFields, unseenValues: unseenValues,
            oovFields: oovFields)
    }
}
