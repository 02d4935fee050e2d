import Foundation
import NFMFormat
import NFMKernels
import NFMPipeline

/// `nfm predict`: raw rows in the dataset's input format → predictions, encoded with the vocabularies
/// embedded in the checkpoint.
public enum Prediction {
    /// What to do with a row holding a value the training data never had.
    public enum UnseenPolicy: String, Sendable, CaseIterable {
        /// Do not score the row (it is counted and left out of the output).
        case skip
        /// Score the row without the unseen features (zero first-order weight and embedding).
        case ignore
        /// Stop with an error naming the line, field and value.
        case fail
    }

    public struct Report: Codable, Sendable {
        public var rows = 0
        public var predicted = 0
        public var skipped = 0
        public var rowsWithUnseen = 0
        /// Unseen values per field name.
        public var unseenByField: [String: Int] = [:]
    }

    /// Encoding state rebuilt from a checkpoint.
    public struct Encoder {
        public let definition: DatasetDefinition
        public let vocabularies: [Vocabulary]
        public let offsets: [Int]
        public let fieldNames: [String]

        public init(checkpoint: Checkpoint) throws {
            let header = checkpoint.header
            guard let definitionRecord = header.definition else {
                throw ModelError(.checkpoint, "the checkpoint has no dataset definition (trained on an imported dataset?), so raw rows cannot be encoded")
            }
            do {
                definition = try DatasetDefinition.parse(text: definitionRecord.text, file: definitionRecord.file)
            } catch let error as PipelineError {
                throw ModelError(.checkpoint, "embedded definition: \(error.message)")
            }
            let fields = header.dataset.fields
            guard definition.fields == fields.map(\.name) else {
                throw ModelError(.checkpoint, "the embedded definition's fields differ from the checkpoint's features")
            }
            var vocabularies: [Vocabulary] = []
            for field in fields {
                guard let path = field.vocabulary, let file = header.vocabularies.first(where: { $0.path == path }) else {
                    throw ModelError(.checkpoint, "the checkpoint has no vocabulary for field \(field.name)")
                }
                let vocabulary: Vocabulary
                do { vocabulary = try Vocabulary.parse(Array(file.text.utf8), file: path) } catch let error as PipelineError {
                    throw ModelError(.checkpoint, "embedded vocabulary: \(error.message)")
                }
                guard vocabulary.count == field.cardinality else {
                    throw ModelError(.checkpoint, "vocabulary \(path) has \(vocabulary.count) values, the field \(field.cardinality)")
                }
                vocabularies.append(vocabulary)
            }
            self.vocabularies = vocabularies
            offsets = fields.map(\.offset)
            fieldNames = fields.map(\.name)
        }
    }

    /// Reads `inputPath` and calls `output(line, prediction)` for every scored row, in input order.
    /// Predictions are ŷ for squared loss and σ(ŷ) (a probability) for log loss.
    public static func run(
        checkpoint: Checkpoint, inputPath: String, unseen: UnseenPolicy, batchRows: Int = 1024,
        output: (_ line: Int, _ prediction: Float) throws -> Void
    ) throws -> Report {
        let encoder = try Encoder(checkpoint: checkpoint)
        let definition = encoder.definition
        let model = checkpoint.model
        let workspace = Workspace(model: model, capacity: batchRows)
        var random = Xoshiro256(seed: 0)
        var report = Report()
        var indices = [UInt32]()
        var offsets: [UInt32] = [0]
        var lines: [Int] = []
        indices.reserveCapacity(batchRows * encoder.fieldNames.count)
        let name = (inputPath as NSString).lastPathComponent

        func flush() throws {
            guard !lines.isEmpty else { return }
            let rows = lines.count
            indices.withUnsafeBufferPointer { idx in
                offsets.withUnsafeBufferPointer { off in
                    let x = SparseRows(rowCount: rows, fieldCount: 0, indices: idx.baseAddress!, offsets: off.baseAddress!)
                    model.forward(x, workspace: workspace, training: false, random: &random)
                }
            }
            for r in 0..<rows {
                let y = workspace.predictions[r]
                try output(lines[r], model.config.loss == .log ? 1 / (1 + Foundation.exp(-y)) : y)
            }
            report.predicted += rows
            indices.removeAll(keepingCapacity: true)
            offsets = [0]
            lines.removeAll(keepingCapacity: true)
        }

        let rows = RawRowEncoder(definition: definition, vocabularies: encoder.vocabularies)
        guard rows.offsets == encoder.offsets else {
            throw ModelError(.checkpoint, "the checkpoint's field offsets do not follow its vocabularies")
        }
        do {
            try rows.encode(path: inputPath) { row in
                report.rows += 1
                for (k, f) in row.unseenFields.enumerated() {
                    report.unseenByField[encoder.fieldNames[f], default: 0] += 1
                    if unseen == .fail {
                        throw ModelError(
                            .input,
                            "\(name):\(row.line): value '\(row.unseenValues[k])' of field \(encoder.fieldNames[f]) was never seen in training (use --unseen skip or ignore)")
                    }
                }
                if !row.unseenFields.isEmpty {
                    report.rowsWithUnseen += 1
                    if unseen == .skip {
                        report.skipped += 1
                        return
                    }
                }
                for feature in row.features where feature != .max { indices.append(feature) }
                offsets.append(UInt32(indices.count))
                lines.append(row.line)
                if lines.count == batchRows { try flush() }
            }
        } catch let error as PipelineError {
            throw ModelError(.input, error.message)
        }
        try flush()
        return report
    }
}
