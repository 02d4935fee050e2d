import Foundation
import NFMFormat

/// The one owner of a training run's folder, for `nfm train` and every run of `nfm experiment` alike. It
/// claims the folder (`OutputDirectory`, kind `.run`: refused when it is a file, a folder nfm did not write,
/// an existing run without `force`, or equal to / inside / containing an input), then writes:
///
/// - `model.nfmc`: the best epoch's checkpoint (rewritten whenever validation improves);
/// - `metrics.csv` and `curve.svg`: every epoch so far (rewritten after each epoch);
/// - `summary.json`: settings, best epoch, timing and records (at the end);
/// - any further file its owner adds (`write(_:to:)`, e.g. an experiment's `result.json`).
///
/// Each file is written to a temporary name and renamed. Until `commit()`, SIGINT/SIGTERM remove the
/// folder; `abandon()` removes it after an error.
public final class RunDirectory: @unchecked Sendable {
    /// The best epoch's checkpoint file.
    public static let checkpointName = "model.nfmc"
    /// The per-epoch metrics table (CSV).
    public static let metricsName = "metrics.csv"
    /// The learning-curve chart (SVG).
    public static let curveName = "curve.svg"
    /// The run summary, written at the end (JSON).
    public static let summaryName = "summary.json"

    private let output: OutputDirectory
    /// The run folder, as claimed.
    public var path: String { output.path }
    /// `path/model.nfmc`.
    public var checkpointPath: String { path + "/" + Self.checkpointName }

    private init(output: OutputDirectory) { self.output = output }

    /// Claims `path` for a run. Call it after every option has been validated. `inputs` are the run's
    /// inputs (the dataset directory, a pre-training checkpoint): the run folder may not be, contain or lie
    /// inside any of them.
    public static func claim(_ path: String, force: Bool, inputs: [String]) throws -> RunDirectory {
        RunDirectory(output: try OutputDirectory.claim(path, kind: .run, force: force, inputs: inputs))
    }

    /// The default run folder of `nfm train`: `runs/<dataset name>-<model>`, the name made safe as one
    /// path component (a manifest `name` of `../../x` cannot lead outside `runs/`).
    public static func defaultPath(datasetName: String, model: ModelKind) -> String {
        "runs/" + FileSystem.sanitizedComponent("\(datasetName)-\(model.rawValue)")
    }

    /// Writes `model.nfmc`.
    public func writeCheckpoint(_ checkpoint: Checkpoint) throws {
        try checkpoint.write(to: checkpointPath)
    }

    /// Writes `metrics.csv` and `curve.svg` for `records`; `title` names the model and the dataset.
    public func writeReports(records: [EpochRecord], loss: LossKind, title: String) throws {
        try write(Array(Reports.csv(records: records, loss: loss).utf8), to: Self.metricsName)
        try write(Array(Reports.svg(records: records, loss: loss, title: title).utf8), to: Self.curveName)
    }

    /// Writes `summary.json`.
    public func writeSummary(_ summary: TrainingSummary) throws {
        try write(Array(try summary.encoded().utf8), to: Self.summaryName)
    }

    /// Writes `bytes` to the file `name` (one path component) of the run folder.
    public func write(_ bytes: [UInt8], to name: String) throws {
        try FileSystem.writeAtomically(bytes, to: path + "/" + FileSystem.sanitizedComponent(name))
    }

    /// The run is complete: keep it on signals (the lock is released by `close()` or deinit).
    public func commit() { output.commit() }

    /// Removes the partial run after an error.
    public func abandon() { output.abandon() }

    /// Releases the folder's lock.
    public func close() { output.close() }
}
