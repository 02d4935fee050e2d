import ArgumentParser
import Foundation
import NFMExperiments
import NFMFormat
import NFMModel

struct ExperimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Reproduce a table or figure of the NFM paper on a dataset (table2, table3, fig3 … fig7).",
        discussion: """
            Writes OUT/results.md, OUT/figure.svg, OUT/results.json and one run directory per configuration \
            (OUT/runs/<id>/ with model.nfmc, metrics.csv, curve.svg, summary.json and result.json). Interrupt it at any \
            time: running it again resumes an experiment directory nfm wrote and skips the finished runs; --force starts \
            over. Grids default to the paper's (learning rates 0.005,0.01,0.02,0.05; dropout 0…0.9; L2 1e-6…1e-1); \
            narrow them with the options below. --redraw rewrites results.md and figure.svg from OUT/results.json \
            without training.
            """)

    @Argument(help: "Experiment: \(Experiment.Kind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var name: String

    @Argument(help: "The dataset directory.")
    var dataset: String

    @Option(help: "Output directory (default: experiments/<dataset name>/<experiment>).")
    var out: String?

    @Option(help: "Learning rates to tune over (tables), comma-separated.")
    var lrs: String?

    @Option(help: "Dropout ratios to sweep (fig3, fig6), comma-separated.")
    var dropouts: String?

    @Option(help: "L2 λ values to sweep (fig3), comma-separated.")
    var l2s: String?

    @Option(help: "Learning rate of the figure experiments.")
    var figureLr: Float?

    @Option(help: "Embedding size k of table2 and the figures.")
    var factors: Int?

    @Option(help: "Embedding sizes of table3, comma-separated.")
    var tableFactors: String?

    @Option(help: "Hidden layers of the Wide&Deep baseline (table3).")
    var wideDeepLayers: String?

    @Option(help: "Residual-unit sizes of the DeepCross baseline (table3).")
    var deepCrossLayers: String?

    @Option(help: "Run only the groups starting with these names, comma-separated (e.g. LR,FM,NFM for those rows of table3).")
    var only: String?

    @Option(help: "Maximum epochs per run.")
    var epochs: Int?

    @Option(help: "Seed of every run.")
    var seed: UInt64?

    @Option(help: "Runs trained at once (results never depend on it).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Threads of each run (default: 1 when --jobs > 1, else all cores; results never depend on it).")
    var threads: Int?

    @Flag(help: "List the runs and which are finished, train nothing.")
    var dryRun = false

    @Flag(help: "Start over: replace an existing experiment directory (only one that nfm wrote) instead of resuming it.")
    var force = false

    @Flag(help: "Redraw OUT/results.md and OUT/figure.svg from OUT/results.json, train nothing.")
    var redraw = false

    @Flag(help: "Print results.json on standard output instead of the markdown table.")
    var json = false

    func validate() throws {
        guard Experiment.Kind(rawValue: name) != nil else {
            throw ValidationError("unknown experiment '\(name)'; one of \(Experiment.Kind.allCases.map(\.rawValue))")
        }
    }

    func makeGrid() throws -> ExperimentGrid {
        var grid = ExperimentGrid()
        if let lrs { grid.learningRates = try parseList(lrs, "--lrs") { Float($0) } }
        if let dropouts { grid.dropouts = try parseList(dropouts, "--dropouts") { Float($0) } }
        if let l2s { grid.l2s = try parseList(l2s, "--l2s") { Float($0) } }
        if let figureLr { grid.figureLearningRate = figureLr }
        if let factors { grid.factors = factors }
        if let tableFactors { grid.tableFactors = try parseList(tableFactors, "--table-factors") { Int($0) } }
        if let wideDeepLayers { grid.wideDeepLayers = try parseList(wideDeepLayers, "--wide-deep-layers") { Int($0) } }
        if let deepCrossLayers { grid.deepCrossLayers = try parseList(deepCrossLayers, "--deep-cross-layers") { Int($0) } }
        if let epochs { grid.epochs = epochs }
        if let seed { grid.seed = seed }
        try TrainingLimits.check(jobs, in: 1...TrainingLimits.maxThreads, option: "--jobs")
        if let threads { try TrainingLimits.check(threads, in: 1...TrainingLimits.maxThreads, option: "--threads") }
        return grid
    }

    /// The experiment, narrowed by `--only`.
    func makeExperiment(_ grid: ExperimentGrid) throws -> Experiment {
        var experiment = Experiment(Experiment.Kind(rawValue: name)!, grid: grid)
        if let only {
            experiment = experiment.restricted(toGroupsStartingWith: try parseList(only, "--only") { $0 })
            guard !experiment.runs.isEmpty else {
                throw NFMError(.usage, "matches no run of \(name)", at: .init(field: "--only", value: only))
            }
        }
        return experiment
    }

    func run() throws {
        try runMapped {
            let grid = try makeGrid()
            let experiment = try makeExperiment(grid)
            if redraw, let out { return try redrawReport(in: out) }
            let data = try Dataset.load(directory: dataset)
            let directory = out ?? ExperimentRunner.defaultDirectory(datasetName: data.manifest.name, experiment: experiment.kind)
            if redraw { return try redrawReport(in: directory) }
            let runner = ExperimentRunner(
                dataset: data, experiment: experiment, directory: directory, jobs: jobs, force: force,
                threadsPerRun: threads, log: { Diagnostics.write($0 + "\n") })
            try runner.validate()
            if dryRun {
                for spec in experiment.runs {
                    print("\(runner.finished(spec) == nil ? "todo" : "done")  \(spec.id)  \(spec.name)")
                }
                return
            }
            Diagnostics.write("\(experiment.title)\n\(experiment.runs.count) runs, \(jobs) at a time, in \(directory)\n")
            let started = Date()
            let results = try runner.run()
            let report = ExperimentReport(
                experiment: experiment, results: results, datasetName: data.manifest.name,
                manifestSHA256: data.manifestSHA256, grid: grid)
            try report.write(to: directory)
            print(json ? String(decoding: try report.json(), as: UTF8.self) : report.markdown(), terminator: json ? "" : "\n")
            Diagnostics.write(
                String(format: "done in %.0f s; wrote %@/results.md, figure.svg, results.json\n", Date().timeIntervalSince(started), directory))
        }
    }

    /// `--redraw`: results.md and figure.svg again from results.json.
    private func redrawReport(in directory: String) throws {
        let path = directory + "/results.json"
        let report = try ExperimentReport.load(json: try ReadableFile.readAll(path), file: path)
        try FileSystem.writeAtomically(Array(report.markdown().utf8), to: directory + "/results.md")
        try FileSystem.writeAtomically(Array(report.svg().utf8), to: directory + "/figure.svg")
        Diagnostics.write("redrew \(directory)/results.md and figure.svg from results.json\n")
    }
}
