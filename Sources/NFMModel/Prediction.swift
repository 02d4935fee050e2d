import Foundation
import NFMFormat
import NFMKernels
import NFMPipeline

#if canImport(Glibc)
    import Glibc
#endif

/// `nfm predict`: a checkpoint's predictions for raw rows (encoded with the checkpoint's vocabularies),
/// a dataset split (`Prediction+Dataset.swift`) or a libFM file (`Prediction+LibFM.swift`).
///
/// The printed prediction is `min(max(ŷ, lower), upper)` for squared loss, `[lower, upper]` the label
/// range of the training data (libFM `-out` clips regression the same way), or `σ(ŷ) = 1/(1 + e^−ŷ)` for
/// log loss; `clip: false` leaves squared-loss `ŷ` as computed.
public enum Prediction {
    /// What to do with a row holding a value (or a libFM feature index) the training data never had.
    public enum UnseenPolicy: String, Sendable, CaseIterable {
        /// Do not score the row (it is counted and left out of the output).
        case skip
        /// Score the row without the unseen features (zero first-order weight and embedding).
        case ignore
        /// Stop with an error naming the file, line, column and value.
        case fail
    }

    /// What a prediction run read and wrote (`nfm predict --json`).
    public struct Report: Codable, Sendable, Equatable {
        /// Data rows read.
        public var rows = 0
        /// Predictions written.
        public var written = 0
        /// Rows left out (`--unseen skip`).
        public var skipped = 0
        public var rowsWithUnseen = 0
        /// Unseen values per field name (libFM input: under `"index"`).
        public var unseenByField: [String: Int] = [:]
        /// Values encoded as their field's OOV feature, per field name (raw input to a model whose fields
        /// have OOV features; nil otherwise, and then absent from the JSON).
        public var oovByField: [String: Int]?
        public init() {}
    }

    /// How a model output `ŷ` becomes the printed prediction (see the type's summary).
    public struct OutputRule: Sendable, Equatable {
        public var loss: LossKind
        /// The clipping range for squared loss; nil leaves `ŷ` unclipped.
        public var clip: ClosedRange<Float>?

        /// The rule of `checkpoint`: its loss, and with `clip` its training data's label range.
        public init(checkpoint: Checkpoint, clip: Bool) {
            loss = checkpoint.model.config.loss
            self.clip = clip && loss == .squared ? Prediction.labelRange(of: checkpoint) : nil
        }

        /// The prediction for model output `y`.
        @inline(__always) public func apply(_ y: Float) -> Float {
            if loss == .log { return 1 / (1 + Foundation.exp(-y)) }
            guard let clip else { return y }
            return min(max(y, clip.lowerBound), clip.upperBound)
        }
    }

    /// `[min, max]` of the two label values the model was trained with.
    public static func labelRange(of checkpoint: Checkpoint) -> ClosedRange<Float> {
        let labels = checkpoint.header.dataset.labels
        return min(labels.negative, labels.positive)...max(labels.negative, labels.positive)
    }

    /// Significant digits libFM writes (C++ streams' default precision, i.e. `%g`).
    public static let libFMPrecision = 6

    /// `value` as C's `%.{precision}g` (libFM's `-out` with precision 6: `0.123457`, `-1`, `1e-05`);
    /// precision 9 round-trips every `Float`.
    public static func format(_ value: Float, precision: Int = libFMPrecision) -> String {
        var buffer = [CChar](repeating: 0, count: 48)
        let written = withVaList([Int32(clamping: precision), Double(value)]) { arguments in
            buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress!, 48, "%.*g", arguments) }
        }
        return String(decoding: buffer.prefix(Int(max(0, min(written, 47)))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The encoder of raw rows rebuilt from what a checkpoint embeds: the definition, the kept-value
    /// vocabularies and each field's encoding (kind, OOV feature, standardize statistics), checked against
    /// one another and against the checkpoint's fields (names, cardinalities, consecutive offsets). An
    /// inconsistent checkpoint is a `.checkpoint` error. O(size of the vocabularies).
    public static func encoder(for checkpoint: Checkpoint) throws -> RawRowEncoder {
        let header = checkpoint.header
        guard let recorded = header.definition else {
            throw NFMError(
                .checkpoint, "the checkpoint has no dataset definition (trained on an imported libFM dataset?), so raw rows cannot be encoded; use --libfm or --dataset")
        }
        let definition: DatasetDefinition
        do { definition = try DatasetDefinition.parse(text: recorded.text, file: recorded.file) } catch let error as NFMError {
            throw NFMError(.checkpoint, "the embedded definition is invalid: \(error.message)", at: .init(field: "definition"), cause: error)
        }
        let fields = header.dataset.fields
        guard definition.fields == fields.map(\.name) else {
            throw NFMError(.checkpoint, "the embedded definition's fields differ from the checkpoint's features")
        }
        var encodings: [RawRowEncoder.FieldEncoding] = []
        var offset = 0
        for (spec, field) in zip(definition.fieldSpecs, fields) {
            guard field.offset == offset else {
                throw NFMError(.checkpoint, "the checkpoint's field offsets do not follow its vocabularies", at: .init(field: field.name))
            }
            try encodings.append(encoding(of: field, spec: spec, in: header))
            offset += field.cardinality
        }
        guard offset == header.dataset.featureCount, offset == checkpoint.model.config.featureCount else {
            throw NFMError(
                .checkpoint, "the fields hold \(offset) features, the model \(checkpoint.model.config.featureCount)",
                at: .init(field: "dataset.featureCount", value: "\(header.dataset.featureCount)"))
        }
        return RawRowEncoder(definition: definition, fields: encodings)
    }

    /// One field's encoding from the checkpoint: its embedded vocabulary (vocabulary fields) and recorded
    /// kind, OOV index and statistics, validated against `spec` (`.checkpoint` errors).
    private static func encoding(
        of field: DatasetFingerprint.Field, spec: FieldSpec, in header: Checkpoint.Header
    ) throws -> RawRowEncoder.FieldEncoding {
        var vocabulary: Vocabulary?
        if spec.hasVocabulary {
            guard let path = field.vocabulary, let file = header.vocabularies.first(where: { $0.path == path }) else {
                throw NFMError(.checkpoint, "the checkpoint has no vocabulary for this field", at: .init(field: field.name))
            }
            do { vocabulary = try Vocabulary.parse(Array(file.text.utf8), file: path) } catch let error as NFMError {
                throw NFMError(.checkpoint, "embedded vocabulary: \(error.message)", at: .init(file: path, field: field.name), cause: error)
            }
        }
        return try RawRowEncoder.FieldEncoding(
            spec: spec, offset: field.offset, cardinality: field.cardinality, kind: field.kind, vocabulary: vocabulary,
            oov: field.oov, mean: field.mean, stddev: field.stddev, code: .checkpoint, file: field.vocabulary)
    }

    /// Reads raw rows from `inputPath` (the dataset's input format; `.gz`, `.zst` or `-` for standard
    /// input) and calls `output(line, prediction)` for every scored row, in input order (`line`: the
    /// row's 1-based line in the input). Values mapped to a field's OOV feature are counted in
    /// `Report.oovByField`, not as unseen; unseen values of fields without one follow `unseen`.
    public static func run(
        checkpoint: Checkpoint, inputPath: String, unseen: UnseenPolicy, clip: Bool = true, batchRows: Int = 1024,
        output: (_ line: Int, _ prediction: Float) throws -> Void
    ) throws -> Report {
        let encoder = try encoder(for: checkpoint)
        let fieldNames = checkpoint.header.dataset.fields.map(\.name)
        let withValues = encoder.hasValues
        let batch = RowBatch(checkpoint: checkpoint, capacity: batchRows, clip: clip, withValues: withValues)
        var report = Report()
        if encoder.fields.contains(where: { $0.oov != nil }) { report.oovByField = [:] }
        let inputName = inputPath == "-" ? "<stdin>" : (inputPath as NSString).lastPathComponent
        try encoder.encode(path: inputPath) { row in
            report.rows += 1
            for f in row.oovFields { report.oovByField?[fieldNames[f], default: 0] += 1 }
            for (k, f) in row.unseenFields.enumerated() {
                report.unseenByField[fieldNames[f], default: 0] += 1
                if unseen == .fail {
                    throw NFMError(
                        .input, "value of field \(fieldNames[f]) never seen in training (use --unseen skip or ignore)",
                        at: .init(file: inputName, line: row.line, field: fieldNames[f], value: NFMError.excerpt(row.unseenValues[k])))
                }
            }
            if !row.unseenFields.isEmpty {
                report.rowsWithUnseen += 1
                if unseen == .skip {
                    report.skipped += 1
                    return
                }
            }
            if row.unseenFields.isEmpty {
                batch.indices.append(contentsOf: row.features)
                if withValues { batch.values.append(contentsOf: row.values) }
            } else {
                for (feature, value) in zip(row.features, row.values) where feature != .max {
                    batch.indices.append(feature)
                    if withValues { batch.values.append(value) }
                }
            }
            try batch.endRow(line: row.line, output)
        }
        try batch.flush(output)
        report.written = report.rows - report.skipped
        return report
    }
}

/// Rows gathered for one forward pass in inference mode (sparse form, optional values), scored in
/// batches of `capacity` rows and handed out in order.
final class RowBatch {
    let model: Model
    let rule: Prediction.OutputRule
    let workspace: Workspace
    var random = Xoshiro256(seed: 0)
    var indices: [UInt32] = []
    var values: [Float] = []
    var offsets: [UInt32] = [0]
    var lines: [Int] = []
    /// Whether rows carry values (libFM input); otherwise every value is 1.
    let withValues: Bool

    init(checkpoint: Checkpoint, capacity: Int, clip: Bool, withValues: Bool = false) {
        model = checkpoint.model
        rule = Prediction.OutputRule(checkpoint: checkpoint, clip: clip)
        workspace = Workspace(model: model, capacity: capacity)
        self.withValues = withValues
    }

    /// Closes the row whose entries were appended to `indices` (and `values`); scores the batch when full.
    func endRow(line: Int, _ output: (Int, Float) throws -> Void) throws {
        offsets.append(UInt32(indices.count))
        lines.append(line)
        if lines.count == workspace.capacity { try flush(output) }
    }

    /// Scores the gathered rows and calls `output(line, prediction)` for each, in order.
    func flush(_ output: (Int, Float) throws -> Void) throws {
        let rows = lines.count
        guard rows > 0 else { return }
        if indices.isEmpty { indices.append(0) }  // a valid base pointer when every row is empty
        indices.withUnsafeBufferPointer { idx in
            offsets.withUnsafeBufferPointer { off in
                values.withUnsafeBufferPointer { val in
                    let x = SparseRows(
                        rowCount: rows, fieldCount: 0, indices: idx.baseAddress!, offsets: off.baseAddress!,
                        values: withValues ? val.baseAddress : nil)
                    model.forward(x, workspace: workspace, training: false, random: &random)
                }
            }
        }
        for r in 0..<rows { try output(lines[r], rule.apply(workspace.predictions[r])) }
        indices.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        offsets = [0]
        lines.removeAll(keepingCapacity: true)
    }
}
