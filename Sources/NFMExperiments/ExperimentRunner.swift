import Dispatch
import Foundation
import NFMFormat
import NFMModel

/// Trains the runs of an experiment, `jobs` at a time, skipping runs whose `runs/<id>/result.json` already
/// exists (so an interrupted experiment resumes without redoing finished runs).
///
/// Runs that pre-train from another group wait until every run of that group has finished, then start
/// from the checkpoint of that group's best-validation run. Each run trains on one thread, so its metrics
/// depend only on its spec and seed, never on `jobs`.
public final class ExperimentRunner: @unchecked Sendable {
    public let dataset: Dataset
    public let experiment: Experiment
    public let directory: String
    public let jobs: Int
    private let log: @Sendable (String) -> Void
    private let lock = NSLock()

    public init(
        dataset: Dataset, experiment: Experiment, directory: String, jobs: Int,
        log: @escaping @Sendable (String) -> Void
    ) {
        self.dataset = dataset
        self.experiment = experiment
        self.directory = directory
        self.jobs = max(1, jobs)
        self.log = log
    }

    func runDirectory(_ spec: RunSpec) -> String { directory + "/runs/" + spec.id }

    /// A finished run's result, if any.
    public func finished(_ spec: RunSpec) -> RunResult? {
        let path = runDirectory(spec) + "/result.json"
        guard let bytes = try? ReadableFile.readAll(path),
            let result = try? JSONDecoder().decode(RunResult.self, from: Data(bytes)), result.spec == spec
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
        try FileSystem.createDirectory(directory + "/runs")
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
        else { throw ExperimentError("pre-training source '\(group)' has not finished") }
        return runDirectory(best.spec) + "/model.nfmc"
    }

    private func train(_ spec: RunSpec, initFrom: String?) throws -> RunResult {
        let started = Date()
        let runDirectory = runDirectory(spec)
        try FileSystem.createDirectory(runDirectory)
        let config = try spec.modelConfig(featureCount: dataset.manifest.featureCount)
        let trainer = try Trainer(
            dataset: dataset, config: config,
            options: spec.trainingOptions(directory: runDirectory, initFrom: initFrom, threads: jobs > 1 ? 1 : 2))
        let outcome = try trainer.run()
        let result = RunResult(
            spec: spec, records: outcome.records, bestEpoch: outcome.bestEpoch, stoppedEarly: outcome.stoppedEarly,
            parameters: outcome.bestModel.trainableParameterCount, seconds: Date().timeIntervalSince(started))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileSystem.writeAtomically(Array(try encoder.encode(result)), to: runDirectory + "/result.json")
        return result
    }
}
