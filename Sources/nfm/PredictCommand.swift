import ArgumentParser
import Foundation
import NFMFormat
import NFMModel

extension Prediction.UnseenPolicy: ExpressibleByArgument {}

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score raw rows (the dataset's input format) with a checkpoint.",
        discussion: """
            Rows are encoded with the vocabularies saved in the checkpoint. Output: a header line, then
            `line<TAB>prediction` per scored row (the row's line number in the input), where the prediction
            is ŷ for squared loss and a probability for log loss. Values never seen in training are counted
            per field and handled by --unseen: skip (default) leaves the row out, ignore scores it without
            the unseen features (zero weight and embedding), fail stops with an error.
            """)

    @Argument(help: "The checkpoint (model.nfmc).")
    var checkpoint: String

    @Option(help: "Raw rows in the format of the dataset's input (e.g. frappe.csv).")
    var input: String

    @Option(help: "Write predictions here instead of standard output.")
    var output: String?

    @Option(help: "Rows with unseen values: skip, ignore or fail.")
    var unseen: Prediction.UnseenPolicy = .skip

    @Flag(help: "No summary on standard error.")
    var quiet = false

    func run() throws {
        try runModelCommand {
            let model = try Checkpoint.load(path: checkpoint)
            var text = "line\tprediction\n"
            let file = try output.map { try WritableFile(path: $0) }
            func emit(_ force: Bool) throws {
                if force || text.utf8.count > 1 << 16 {
                    if let file { try file.write(Array(text.utf8)) } else { FileHandle.standardOutput.write(Data(text.utf8)) }
                    text = ""
                }
            }
            let report = try Prediction.run(checkpoint: model, inputPath: input, unseen: unseen) { line, prediction in
                text += "\(line)\t\(prediction)\n"
                try emit(false)
            }
            try emit(true)
            try file?.close()
            if !quiet {
                let fields = report.unseenByField.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                Diagnostics.write(
                    "predicted \(report.predicted) of \(report.rows) rows; \(report.rowsWithUnseen) with unseen values\(fields.isEmpty ? "" : " (\(fields))")"
                        + (report.skipped > 0 ? ", \(report.skipped) skipped" : "") + "\n")
            }
        }
    }
}
