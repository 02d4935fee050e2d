import Foundation
import NFMFormat

/// Turns an experiment's results into a markdown table, an SVG figure and a JSON file.
public struct ExperimentReport {
    /// The experiment whose results are reported.
    public let experiment: Experiment
    /// The results of its finished runs.
    public let results: [RunResult]
    /// The dataset's name in its manifest, for the report's preamble.
    public let datasetName: String
    /// SHA-256 of the dataset's `manifest.json` (the preamble shows its first 16 digits).
    public let manifestSHA256: String
    /// The grid the runs used (seed, batch size, epoch limit and patience appear in the preamble).
    public let grid: ExperimentGrid

    /// A report of `results` (the finished runs of `experiment`) on the dataset named `datasetName`.
    public init(experiment: Experiment, results: [RunResult], datasetName: String, manifestSHA256: String, grid: ExperimentGrid) {
        self.experiment = experiment
        self.results = results
        self.datasetName = datasetName
        self.manifestSHA256 = manifestSHA256
        self.grid = grid
    }

    /// The best-validation run of each group, in first-appearance order.
    public var groupBest: [(group: String, result: RunResult)] {
        var order: [String] = []
        var best: [String: RunResult] = [:]
        for result in results {
            let group = result.spec.group
            if best[group] == nil { order.append(group) }
            if best[group].map({ result.bestValidation < $0.bestValidation }) ?? true { best[group] = result }
        }
        return order.map { ($0, best[$0]!) }
    }

    /// Writes `results.md` (`markdown()`), `figure.svg` (`svg()`) and `results.json` (`json()`) into
    /// `directory`, each atomically.
    public func write(to directory: String) throws {
        try FileSystem.writeAtomically(Array(markdown().utf8), to: directory + "/results.md")
        try FileSystem.writeAtomically(Array(svg().utf8), to: directory + "/figure.svg")
        try FileSystem.writeAtomically(try json(), to: directory + "/results.json")
    }

    // MARK: - Markdown

    /// The report as Markdown: title, a preamble with the dataset and settings, then the experiment's
    /// table of runs or groups.
    public func markdown() -> String {
        var lines = ["# \(experiment.title)", ""]
        lines.append(
            "Dataset `\(datasetName)` (manifest `\(manifestSHA256.prefix(16))…`), seed \(grid.seed), batch \(grid.batchSize), "
                + "Adagrad, up to \(grid.epochs) epochs, early stopping after \(grid.patience) worsening epochs where it applies. "
                + "Times are wall seconds per run on this machine.")
        lines.append("")
        let paper = PaperResults.values(for: datasetName)
        switch experiment.kind {
        case .table2, .table3:
            lines.append("| model | parameters | best lr | best epoch | validation RMSE | test RMSE | paper | Δ test − paper | seconds |")
            lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
            for (group, result) in groupBest {
                let reference = paper[group]
                let delta = reference.map { String(format: "%+.4f", result.bestTest - $0) } ?? ""
                lines.append(
                    "| \(group) | \(result.parameters) | \(result.spec.learningRate) | \(result.bestEpoch) | "
                        + String(format: "%.4f | %.4f", result.bestValidation, result.bestTest)
                        + " | \(reference.map { String(format: "%.4f", $0) } ?? "–") | \(delta) | "
                        + String(format: "%.0f", groupSeconds(group)) + " |")
            }
        case .fig3, .fig6:
            lines.append("| series | x | best epoch | validation RMSE | test RMSE | seconds |")
            lines.append("|---|---:|---:|---:|---:|---:|")
            for result in results {
                lines.append(
                    "| \(result.spec.series) | \(result.spec.x.map { String(format: "%g", $0) } ?? "") | \(result.bestEpoch) | "
                        + String(format: "%.4f | %.4f | %.0f |", result.bestValidation, result.bestTest, result.seconds))
            }
        case .fig4, .fig5, .fig7:
            lines.append("| run | epochs | best epoch | best validation RMSE | test RMSE there | final train RMSE | seconds |")
            lines.append("|---|---:|---:|---:|---:|---:|---:|")
            for result in results {
                lines.append(
                    "| \(result.spec.name) | \(result.records.count) | \(result.bestEpoch) | "
                        + String(
                            format: "%.4f | %.4f | %.4f | %.0f |", result.bestValidation, result.bestTest,
                            result.records.last?.train.primary ?? .nan, result.seconds))
            }
        }
        lines.append("")
        lines.append("Every run: `runs/<id>/` (checkpoint, metrics.csv, curve.svg, summary.json, result.json); all settings and seeds: `results.json`.")
        return lines.joined(separator: "\n") + "\n"
    }

    private func groupSeconds(_ group: String) -> Double {
        results.filter { $0.spec.group == group }.reduce(0) { $0 + $1.seconds }
    }

    // MARK: - JSON

    /// The layout of `results.json`.
    struct Document: Codable {
        var experiment: String
        var title: String
        var dataset: String
        var manifestSHA256: String
        var grid: ExperimentGrid
        var runs: [RunResult]
    }

    /// Reads a report back from its `results.json` (to redraw `results.md` and `figure.svg` without
    /// training); the experiment's title and layout are today's, the numbers those of the file.
    public static func load(json bytes: [UInt8], file: String) throws -> ExperimentReport {
        let document: Document
        do {
            document = try JSONDecoder().decode(Document.self, from: Data(bytes))
        } catch {
            throw NFMError(.input, "not an experiment's results.json (\(error))", at: .init(file: file))
        }
        guard let kind = Experiment.Kind(rawValue: document.experiment) else {
            throw NFMError(.input, "unknown experiment", at: .init(file: file, field: "experiment", value: document.experiment))
        }
        return ExperimentReport(
            experiment: Experiment(kind, grid: document.grid), results: document.runs, datasetName: document.dataset,
            manifestSHA256: document.manifestSHA256, grid: document.grid)
    }

    /// `results.json`: the experiment, its grid and every run's spec and records.
    public func json() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array(
            try encoder.encode(
                Document(
                    experiment: experiment.kind.rawValue, title: experiment.title, dataset: datasetName,
                    manifestSHA256: manifestSHA256, grid: grid, runs: results))) + [10]
    }
}

/// Test RMSE reported by He & Chua (SIGIR 2017): Table 2 (k = 64) and Table 3 (k = 128, 256).
enum PaperResults {
    static func values(for dataset: String) -> [String: Double] {
        switch dataset {
        case "frappe":
            return [
                "NFM-0": 0.3562, "NFM-1": 0.3133, "NFM-2": 0.3193, "NFM-3": 0.3219, "NFM-4": 0.3202,
                "LR": 0.5835,
                "FM k=128": 0.3437, "HOFM k=128": 0.3405, "Wide&Deep k=128": 0.3621, "Wide&Deep (pre-train) k=128": 0.3311,
                "DeepCross k=128": 0.4025, "DeepCross (pre-train) k=128": 0.3388, "NFM k=128": 0.3127,
                "FM k=256": 0.3385, "HOFM k=256": 0.3331, "Wide&Deep k=256": 0.3661, "Wide&Deep (pre-train) k=256": 0.3246,
                "DeepCross k=256": 0.4071, "DeepCross (pre-train) k=256": 0.3548, "NFM k=256": 0.3095,
            ]
        case "movielens":
            return [
                "NFM-0": 0.4901, "NFM-1": 0.4646, "NFM-2": 0.4681, "NFM-3": 0.4752, "NFM-4": 0.4703,
                "LR": 0.5991,
                "FM k=128": 0.4793, "HOFM k=128": 0.4752, "Wide&Deep k=128": 0.5323, "Wide&Deep (pre-train) k=128": 0.4595,
                "DeepCross k=128": 0.5885, "DeepCross (pre-train) k=128": 0.5084, "NFM k=128": 0.4557,
                "FM k=256": 0.4735, "HOFM k=256": 0.4636, "Wide&Deep k=256": 0.6110, "Wide&Deep (pre-train) k=256": 0.4512,
                "DeepCross k=256": 0.5341, "DeepCross (pre-train) k=256": 0.5130, "NFM k=256": 0.4443,
            ]
        default:
            return [:]
        }
    }
}
