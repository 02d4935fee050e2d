import ArgumentParser
import Foundation
import NFMFormat
import NFMModel

extension Prediction.UnseenPolicy: ExpressibleByArgument {}

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Score a dataset split, a libFM file or raw rows with a checkpoint.",
        discussion: """
            One input, chosen by option:
              --dataset DIR --split S   the split's rows in stored order (the dataset must have the
                                        model's features, as for `nfm evaluate`)
              --libfm FILE              libFM text `label index:value …` (labels ignored; indices are the
                                        model's, as `nfm import-libfm` keeps them)
              --input FILE              raw rows in the dataset's input format (.gz and .zst files
                                        are decompressed, - reads standard input), encoded exactly as
                                        the build did with the encoding saved in the checkpoint
                                        (vocabularies, OOV features, transforms, statistics, buckets)
            With --dataset and --libfm the output is one prediction per line in input order, as libFM's
            `-out` writes it; with --input it is a header line then `line<TAB>prediction` per scored row.
            A prediction is ŷ clipped to the training labels' range for squared loss (--no-clip: as
            computed) and the probability σ(ŷ) for log loss, printed as C's `%.6g` (libFM's format;
            --precision 9 round-trips every 32-bit float).
            A value a field with an OOV feature did not keep goes to that feature (counted per field in
            the summary, not as unseen). Other unseen values (--input) or feature indices beyond the
            model's (--libfm): --unseen skip leaves
            the row out (--input only: it would misalign a one-per-line output), ignore scores the row
            without them, fail stops with the file, line and column (default for --libfm).
            --out never replaces an existing file without --force, and never the checkpoint, an input or
            a file of the dataset. --json prints the summary {rows, written, skipped, ...} as one JSON
            line on standard error (standard output may carry the predictions).
            """)

    @Argument(help: "The checkpoint (model.nfmc).")
    var checkpoint: String

    @Option(help: "A dataset directory with the model's features (with --split).")
    var dataset: String?

    @Option(help: "The split of --dataset to score: train, validation or test.")
    var split: String?

    @Option(help: "A libFM text file.")
    var libfm: String?

    @Option(help: "Raw rows in the format of the dataset's input (e.g. frappe.csv, rows.csv.gz, - for standard input).")
    var input: String?

    @Option(help: "Write predictions here instead of standard output.")
    var out: String?

    @Option(help: .hidden)
    var output: String?

    @Flag(help: "Replace an existing --out file.")
    var force = false

    @Option(help: "Rows with unseen values or indices: skip, ignore or fail (default: skip for --input, fail otherwise).")
    var unseen: Prediction.UnseenPolicy?

    @Flag(inversion: .prefixedNo, help: "Clip squared-loss predictions to the label range (libFM's -out does).")
    var clip = true

    @Option(help: "Significant digits of each prediction (1…9; 6 as libFM).")
    var precision = Prediction.libFMPrecision

    @Option(help: "Threads for --dataset (results never depend on it).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Print the summary as JSON on standard error.")
    var json = false

    @Flag(help: "No summary on standard error.")
    var quiet = false

    /// Option combinations and values, checked before anything is read (`.usage`, exit 2).
    func checkOptions() throws {
        func usage(_ what: String) -> NFMError { NFMError(.usage, what) }
        let sources = [dataset, libfm, input].compactMap { $0 }
        guard sources.count == 1 else { throw usage("give exactly one of --dataset, --libfm, --input") }
        guard (dataset == nil) == (split == nil) else { throw usage("--dataset and --split go together") }
        if let split, Split(rawValue: split) == nil {
            throw NFMError(.usage, "expected train, validation or test", at: .init(field: "--split", value: split))
        }
        guard out == nil || output == nil else { throw usage("--out and --output are the same option; give one") }
        guard (1...9).contains(precision) else {
            throw NFMError(.usage, "expected 1…9 significant digits", at: .init(field: "--precision", value: "\(precision)"))
        }
        guard threads >= 1 else { throw NFMError(.usage, "expected at least 1", at: .init(field: "--threads", value: "\(threads)")) }
        if input == nil && unseen == .skip {
            throw usage("--unseen skip would misalign the one-per-line output of --dataset/--libfm; use ignore or fail")
        }
    }

    func run() throws {
        try runMapped {
            try checkOptions()
            let destination = out ?? output
            let inputs = PredictionOutput.inputs(checkpoint: checkpoint, dataset: dataset, file: libfm ?? input)
            if let destination {
                try OutputFile.check(destination, force: force, inputs: inputs)
                if let dataset { try PredictionOutput.refuseInside(dataset, destination) }
            }
            let model = try Checkpoint.load(path: checkpoint)
            let sink = try PredictionOutput(path: destination, force: force, inputs: inputs)
            let report: Prediction.Report
            do {
                report = try predict(model, into: sink)
                try sink.commit()
            } catch {
                sink.abort()
                throw error
            }
            summarize(report)
        }
    }

    private func predict(_ model: Checkpoint, into sink: PredictionOutput) throws -> Prediction.Report {
        let digits = precision
        if let dataset, let split = split.flatMap(Split.init(rawValue:)) {
            return try Prediction.runDataset(checkpoint: model, directory: dataset, split: split, clip: clip, threads: threads) {
                for value in $0 { try sink.write(Prediction.format(value, precision: digits) + "\n") }
            }
        }
        if let libfm {
            return try Prediction.runLibFM(checkpoint: model, path: libfm, unseen: unseen ?? .fail, clip: clip) { _, value in
                try sink.write(Prediction.format(value, precision: digits) + "\n")
            }
        }
        try sink.write("line\tprediction\n")
        return try Prediction.run(checkpoint: model, inputPath: input ?? "", unseen: unseen ?? .skip, clip: clip) { line, value in
            try sink.write("\(line)\t\(Prediction.format(value, precision: digits))\n")
        }
    }

    private func summarize(_ report: Prediction.Report) {
        if json {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.sortedKeys]
            if let data = try? encoder.encode(report) { Diagnostics.write(String(decoding: data, as: UTF8.self) + "\n") }
            return
        }
        guard !quiet else { return }
        func list(_ counts: [String: Int]) -> String {
            counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }
        let fields = list(report.unseenByField)
        let oov = report.oovByField.map { counts in
            "; \(counts.values.reduce(0, +)) values to OOV features" + (counts.isEmpty ? "" : " (\(list(counts)))")
        }
        Diagnostics.write(
            "predicted \(report.written) of \(report.rows) rows; \(report.rowsWithUnseen) with unseen values\(fields.isEmpty ? "" : " (\(fields))")"
                + (report.skipped > 0 ? ", \(report.skipped) skipped" : "") + (oov ?? "") + "\n")
    }
}

/// Where predictions go: standard output, or an `AtomicFileWriter` (renamed into place on `commit`,
/// removed on `abort`), through a 64 KiB text buffer.
final class PredictionOutput {
    private let file: AtomicFileWriter?
    private var buffer = ""

    init(path: String?, force: Bool, inputs: [String]) throws {
        file = try path.map { try AtomicFileWriter(path: $0, force: force, inputs: inputs) }
    }

    /// The paths `--out` must not be: the checkpoint, the input file, and the dataset directory with
    /// every file in it.
    static func inputs(checkpoint: String, dataset: String?, file: String?) -> [String] {
        var paths = [checkpoint] + [file].compactMap { $0 }
        if let dataset {
            paths.append(dataset)
            paths += FileSystem.relativeFiles(under: dataset).map { dataset + "/" + $0 }
        }
        return paths
    }

    /// Refuses (`.refused`) an output file inside the dataset directory (compared by real path), where
    /// it would become an unlisted file of the dataset.
    static func refuseInside(_ dataset: String, _ path: String) throws {
        func real(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path }
        let parent = real((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent)
        let root = real(dataset)
        if parent == root || parent.hasPrefix(root.hasSuffix("/") ? root : root + "/") {
            throw NFMError(.refused, "the output would be written inside the dataset directory \(dataset)", at: .init(file: path))
        }
    }

    func write(_ text: String) throws {
        buffer += text
        if buffer.utf8.count >= 1 << 16 { try drain() }
    }

    private func drain() throws {
        guard !buffer.isEmpty else { return }
        if let file { try file.write(buffer) } else { FileHandle.standardOutput.write(Data(buffer.utf8)) }
        buffer = ""
    }

    func commit() throws {
        try drain()
        try file?.commit()
    }

    func abort() { file?.abort() }
}
