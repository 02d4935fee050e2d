import ArgumentParser
import Foundation
import NFMFormat
import NFMModel

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score a checkpoint on the splits of a dataset with the same features.",
        discussion: """
            Refuses a dataset whose features differ from the training data's (feature count, fields, offsets, \
            cardinalities or vocabularies; exit 2), a corrupted checkpoint (exit 4), a checkpoint whose weights are \
            NaN or infinite (exit 2) and swapped arguments (exit 2).
            """)

    @Argument(help: "The checkpoint (model.nfmc in a run directory).")
    var checkpoint: String

    @Argument(help: "The dataset directory.")
    var dataset: String

    @Option(help: "Splits to score, comma-separated (train, validation, test).")
    var splits: String = "train,validation,test"

    @Option(help: "Threads, 1…\(TrainingLimits.maxThreads) (results never depend on it).")
    var threads: Int = min(ProcessInfo.processInfo.activeProcessorCount, TrainingLimits.maxThreads)

    @Flag(help: "Print the result as JSON on standard output.")
    var json = false

    /// `.usage` when the arguments are in the wrong order (a dataset directory first, a file second).
    static func checkOrder(checkpoint: String, dataset: String) throws {
        let datasetFirst = FileSystem.isDirectory(checkpoint) && FileSystem.exists(checkpoint + "/" + DatasetManifest.fileName)
        if datasetFirst && !FileSystem.isDirectory(dataset) {
            throw NFMError(
                .usage,
                "the arguments are swapped: \(checkpoint) is a dataset directory and \(dataset) is not; the checkpoint comes first (nfm evaluate CHECKPOINT DATASET)")
        }
    }

    func run() throws {
        try runMapped {
            try Self.checkOrder(checkpoint: checkpoint, dataset: dataset)
            let wanted = try parseList(splits, "--splits") { Split(rawValue: $0) }
            try TrainingLimits.check(threads, in: 1...TrainingLimits.maxThreads, option: "--threads")
            let result = try Evaluation.run(checkpointPath: checkpoint, datasetDirectory: dataset, splits: wanted, threads: threads)
            if !result.sameManifest {
                Diagnostics.write("note: \(dataset) is not the dataset the model was trained on (same features, other manifest)\n")
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(result), as: UTF8.self))
                return
            }
            for split in wanted {
                guard let m = result.splits[split.rawValue] else { continue }
                var parts = ["\(split.rawValue)", "rows \(result.rows[split.rawValue] ?? 0)"]
                if let rmse = m.rmse { parts.append(String(format: "rmse %.4f", rmse)) }
                if let logLoss = m.logLoss { parts.append(String(format: "logloss %.4f", logLoss)) }
                if let auc = m.auc { parts.append(String(format: "auc %.4f", auc)) }
                print(parts.joined(separator: "  "))
            }
            Diagnostics.write(String(format: "evaluated in %.3f s\n", result.seconds))
        }
    }
}
