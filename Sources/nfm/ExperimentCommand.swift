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
            Writes OUT/results.md, OUT/figure.svg, OUT/results.json and one run directory per configuration
            (OUT/runs/<id>/). Interrupt it at any time: running it again skips the finished runs.
            Grids default to the paper's (learning rates 0.005,0.01,0.02,0.05; dropout 0…0.9; L2 1e-6…1e-1);
            narrow them with the options below.
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

    @Option(help: "Runs trained at once (each on one thread; results never depend on it).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "List the runs and which are finished, train nothing.")
    var dryRun = false

    func validate() throws {
        guard Experiment.Kind(rawValue: name) != nil else {
            throw ValidationError("unknown experiment '\(name)'; one of \(Experiment.Kind.allCases.map(\.rawValue))")
        }
        guard jobs >= 1 else { throw ValidationError("--jobs must be ≥ 1") }
        _ = try makeGrid()
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
        return grid
    }

    func run() throws {
        try runModelCommand {
            let grid = try makeGrid()
            var experiment = Experiment(Experiment.Kind(rawValue: name)!, grid: grid)
            if let only {
                experiment = experiment.restricted(toGroupsStartingWith: try parseList(only, "--only") { $0 })
                guard !experiment.runs.isEmpty else { throw ValidationError("--only \(only) matches no run of \(name)") }
            }
            let data = try Dataset.load(directory: dataset)
            let directory = out ?? "experiments/\(data.manifest.name)/\(name)"
            let runner = ExperimentRunner(
                dataset: data, experiment: experiment, directory: directory, jobs: jobs,
                log: { Diagnostics.write($0 + "\n") })
            if dryRun {
                for spec in experiment.runs {
                    print("\(runner.finished(spec) == nil ? "todo" : "done")  \(spec.id)  \(spec.name)")
                }
                return
            }
            Diagnostics.write("\(experiment.title)\n\(experiment.runs.count) runs, \(jobs) at a time, in \(directory)\n")
            let started = Date()
            let results: [RunResult]
            do { results = try runner.run() } catch let error as ExperimentError {
                Diagnostics.write("error: \(error.message)\n")
                throw ExitCode(2)
            }
            let report = ExperimentReport(
                experiment: experiment, results: results, datasetName: data.manifest.name,
                manifestSHA256: data.manifestSHA256, grid: grid)
            try report.write(to: directory)
            print(report.markdown())
            Diagnostics.write(
                String(format: "done in %.0f s; wrote %@/results.md, figure.svg, results.json\n", Date().timeIntervalSince(started), directory))
        }
    }
}
