import Foundation
import NFMFormat

/// `nfm evaluate`: a checkpoint scored on the splits of a dataset with the same features.
public enum Evaluation {
    public struct Result: Codable, Sendable {
        public var checkpoint: String
        public var dataset: String
        public var model: ModelConfig
        public var sameManifest: Bool
        public var splits: [String: SplitMetrics]
        public var rows: [String: Int]
        public var seconds: Double
    }

    public static func run(checkpointPath: String, datasetDirectory: String, splits: [Split] = Split.allCases, threads: Int) throws -> Result {
        let checkpoint = try Checkpoint.load(path: checkpointPath)
        let (manifest, sha) = try DatasetManifest.load(directory: datasetDirectory)
        try checkpoint.header.dataset.checkCompatible(
            with: DatasetFingerprint(manifest: manifest, sha256: sha), directory: datasetDirectory)
        let dataset = try Dataset.load(directory: datasetDirectory, splits: splits)
        let start = now()
        let predictor = Predictor(model: checkpoint.model, threads: threads)
        var metrics: [String: SplitMetrics] = [:]
        var rows: [String: Int] = [:]
        for split in splits where dataset.rowCount(split) > 0 {
            metrics[split.rawValue] = try predictor.evaluate(split, of: dataset)
            rows[split.rawValue] = dataset.rowCount(split)
        }
        return Result(
            checkpoint: checkpointPath, dataset: datasetDirectory, model: checkpoint.model.config,
            sameManifest: sha == checkpoint.header.dataset.manifestSHA256, splits: metrics, rows: rows,
            seconds: now() - start)
    }
}
