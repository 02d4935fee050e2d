import Dispatch
import Foundation
import NFMFormat
import NFMModel

/// Trains the runs of an experiment, `jobs` at a time, skipping runs whose `runs/<id>/result.json` already
/// exists (so an interrupted experiment resumes without redoing finished runs).
///
/// Runs that pre-train from another group wait until every run of that group has finished, then start
/// from the checkpoint of that group's best-validation run. Each run trains on `threadsPerRun` threads
/// (default: 1 when several runs train at once, else every core); its metrics depend only on its spec
/// and seed, never on `jobs` or the threads.
public final class ExperimentRunner: @unchecked Sendable {
    /// The dataset every run trains on (one load shared by all runs).
    public let dataset: Dataset
    /// The experiment whose runs are trained.
    public let experiment: Experiment
    /// The experiment's output directory (`runs/<id>/` per run, then the report files).
    public let directory: String
    /// Number of runs trained at once (at least 1).
    public let jobs: Int
    /// Start over: replace an existing experiment directory (only one nfm wrote) instead of resuming it.
    public let force: Bool
    /// Threads of each run's training steps and evaluation.
    public let threadsPerRun: Int
    private let log: @Sendable (String) -> Void
    private let lock = NSLock()
    private var claimed: OutputDirectory?

    /// A runner; nothing is claimed or trained until it runs. `log` receives one line per run event.
    public init(
        dataset: Dataset, experiment: Experiment, directory: String, jobs: Int, force: Bool = false,
        threadsPerRun: Int? = nil, log: @escaping @Sendable (String) -> Void
    ) {
        self.dataset = dataset
        self.experiment = experiment
        self.directory = directory
        self.jobs = max(1, jobs)
        self.force = force
        let cores = min(ProcessInfo.processInfo.activeProcessorCount, TrainingLimits.maxThreads)
        self.threadsPerRun = max(1, threadsPerRun ?? (self.jobs > 1 ? 1 : cores))
        self.log = log
    }

    /// The default output directory of `nfm experiment`: `experiments/<dataset name>/<experiment>`, the
    /// dataset's name made safe as one path component.
    public static func defaultDirectory(datasetName: String, experiment: Experiment.Kind) -> String {
        "experiments/" + FileSystem.sanitizedComponent(datasetName) + "/" + experiment.rawValue
    }

    /// Checks every run's model and training options (`ModelConfig.validate`, `TrainingOptions.validate`)
    /// before anything is written, so a bad grid value fails at once with `.configuration`.
    public func validate() throws {
        for spec in experiment.runs {
            var config = try spec.modelConfig(featureCount: dataset.manifest.featureCount)
            if config.kind.concatenatesFields { config.fieldSizes = dataset.manifest.fields.map(\.cardinality) }
            try config.validate()
            try spec.trainingOptions(initFrom: nil, threads: 1).validate()
        }
    }

    /// Takes the experiment directory: an existing nfm experiment directory is resumed (unless `force`,
    /// which replaces it); anything else follows `OutputDirectory`'s rules (kind `.experiment`, never the
    /// dataset or inside it). The claim is committed at once: an interrupted experiment keeps its finished
    /// runs (each run's own folder is removed if interrupted).
    func openDirectory() throws {
        let inputs = [dataset.directory]
        if !force && OutputDirectory.ownerKind(of: directory) == .experiment {
            try OutputDirectory.check(directory, kind: .experiment, force: true, inputs: inputs)
        } else {
            let output = try OutputDirectory.claim(directory, kind: .experiment, force: force, inputs: inputs)
            output.commit()
            claimed = output
        }
        try FileSystem.createDirectory(directory + "/runs")
    }

    func runDirectory(_ spec: RunSpec) -> String { directory + "/runs/" + spec.id }

    /// A finished run's result, if any.
    public func finished(_ spec: RunSpec) -> RunResult? {
        let path = runDirectory(spec) + "/result.json"
        guard let bytes = try? ReadableFile.readAll(path),
            let result = try? JSONDecoder().decode(RunResult.self, from: Data(bytes)), result.spec == spec,
            !result.records.isEmpty, result.records.contains(where: { $0.epoch == result.bestEpoch })
        else { return nil }
        return result
    }

    /// Shared progress of the worker threads; every access holds `lock`.
    private final class Progress: @unchecked Sendable {
        var results: [String: RunResult] = [:]
        var completed = 0
        var next = 0
        var firstError: Error?
    }

    /// Runs everything not yet finished; returns all results in spec order.
    public func run() throws -> [RunResult] {
        try validate()
        try openDirectory()
        let specs = experiment.runs
        let state = Progress()
        for spec in specs { if let done = finished(spec) { state.results[spec.name] = done } }
        let total = specs.count
        state.completed = state.results.count
        if state.completed > 0 { log("resuming: \(state.completed) of \(total) runs already finished") }
        let waves = [specs.filter { $0.pretrainFrom == nil }, specs.filter { $0.pretrainFrom != nil }]
        for wave in waves {
            let pending = wave.filter { state.results[$0.name] == nil }
            state.next = 0
            DispatchQueue.concurrentPerform(iterations: min(jobs, max(pending.count, 1))) { _ in
                while true {
                    let spec: RunSpec? = lock.withLock {
                        guard state.firstError == nil, state.next < pending.count else { return nil }
                        defer { state.next += 1 }
                        return pending[state.next]
                    }
                    guard let spec else { return }
                    do {
                        let initFrom = try spec.pretrainFrom.map { group in
                            try lock.withLock { try bestCheckpoint(of: group, in: state.results) }
                        }
                        let result = try train(spec, initFrom: initFrom)
                        lock.withLock {
                            state.results[spec.name] = result
                            state.completed += 1
                            log(
                                "[\(state.completed)/\(total)] \(spec.name): "
                                    + String(
                                        format: "best validation %.4f, test %.4f at epoch %d (%.1f s)", result.bestValidation,
                                        result.bestTest, result.bestEpoch, result.seconds))
                        }
                    } catch {
                        lock.withLock { if state.firstError == nil { state.firstError = error } }
                    }
                }
            }
            if let error = state.firstError { throw error }
        }
        return specs.map { state.results[$0.name]! }
    }

    private func bestCheckpoint(of group: String, in results: [String: RunResult]) throws -> String {
        let members = experiment.runs.filter { $0.group == group || $0.name == group }
        let done = members.compactMap { results[$0.name] }
        guard !members.isEmpty, done.count == members.count,
            let best = done.min(by: { $0.bestValidation < $1.bestValidation })
        else { throw NFMError(.configuration, "has not finished", at: .init(field: "pre-training source", value: group)) }
        return runDirectory(best.spec) + "/model.nfmc"
    }

    /// Trains one run into its own `RunDirectory` (`runs/<id>/`: model.nfmc, metrics.csv, curve.svg,
    /// summary.json, then result.json, which marks it finished). An interrupted earlier attempt is replaced.
    private func train(_ spec: RunSpec, initFrom: String?) throws -> RunResult {
        let started = Date()
        let config = try spec.modelConfig(featureCount: dataset.manifest.featureCount)
        let options = spec.trainingOptions(initFrom: initFrom, threads: threadsPerRun)
        let trainer = try Trainer(dataset: dataset, config: config, options: options)
        let run = try RunDirectory.claim(runDirectory(spec), force: true, inputs: [dataset.directory] + (initFrom.map { [$0] } ?? []))
        do {
            let outcome = try trainer.run(in: run)
            let result = RunResult(
                spec: spec, records: outcome.records, bestEpoch: outcome.bestEpoch, stoppedEarly: outcome.stoppedEarly,
                parameters: outcome.bestModel.trainableParameterCount, seconds: Date().timeIntervalSince(started))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try run.write(Array(try encoder.encode(result)), to: "result.json")
            run.commit()
            run.close()
            return result
        } catch {
            run.abandon()
            throw error
        }
    }
}
