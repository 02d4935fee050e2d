import Foundation
import NFMFormat

/// `nfm evaluate`: a checkpoint scored on the splits of a dataset with the same features.
public enum Evaluation {
    /// The metrics of each scored split, with what was scored.
    public struct Result: Codable, Sendable {
        /// The checkpoint's path, as given.
        public var checkpoint: String
        /// The dataset directory, as given.
        public var dataset: String
        /// The scored model's architecture and hyperparameters.
        public var model: ModelConfig
        /// Whether the dataset's manifest is the one the model was trained on (same SHA-256), not only one
        /// with the same features.
        public var sameManifest: Bool
        /// Metrics by split name (`train`, `validation`, `test`); splits with no rows are absent.
        public var splits: [String: SplitMetrics]
        /// Rows scored, by split name.
        public var rows: [String: Int]
        /// Wall time of scoring, in seconds (loading excluded).
        public var seconds: Double
    }

    /// Scores the checkpoint at `checkpointPath` on `splits` of the dataset. Throws `.datasetMismatch`
    /// for a dataset of other features and `.diverged` when the checkpoint holds a NaN or infinite weight or
    /// a metric is not finite.
    public static func run(checkpointPath: String, datasetDirectory: String, splits: [Split] = Split.allCases, threads: Int) throws -> Result {
        try TrainingLimits.check(threads, in: 1...TrainingLimits.maxThreads, option: "--threads")
        let checkpoint = try Checkpoint.load(path: checkpointPath)
        try checkpoint.model.checkFinite(file: checkpointPath)
        let (manifest, sha) = try DatasetManifest.load(directory: datasetDirectory)
        try checkpoint.header.dataset.checkCompatible(
            with: DatasetFingerprint(manifest: manifest, sha256: sha), directory: datasetDirectory)
        let dataset = try Dataset.load(directory: datasetDirectory, splits: splits)
        let start = now()
        let predictor = Predictor(model: checkpoint.model, threads: threads)
        var metrics: [String: SplitMetrics] = [:]
        var rows: [String: Int] = [:]
        for split in splits where dataset.rowCount(split) > 0 {
            let m = try predictor.evaluate(split, of: dataset)
            guard m.primary.isFinite, m.auc?.isFinite ?? true else {
                throw NFMError(
                    .diverged, "the \(split.rawValue) metrics are not finite (\(m.primary)): the model's predictions overflow",
                    at: .init(file: checkpointPath))
            }
            metrics[split.rawValue] = m
            rows[split.rawValue] = dataset.rowCount(split)
        }
        return Result(
            checkpoint: checkpointPath, dataset: datasetDirectory, model: checkpoint.model.config,
            sameManifest: sha == checkpoint.header.dataset.manifestSHA256, splits: metrics, rows: rows,
            seconds: now() - start)
    }
}
