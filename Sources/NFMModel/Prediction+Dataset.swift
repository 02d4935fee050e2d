import Foundation
import NFMFormat

extension Prediction {
    /// Scores one split of a dataset with the checkpoint's features (refused otherwise, as by `nfm
    /// evaluate`), shard by shard in stored order, with `nfm evaluate`'s `Predictor` (so the values are
    /// those its metrics are computed from, before clipping). Calls `output(predictions)` once per shard
    /// (or once for a cached split). Complexity O(rows · model), memory one shard (streamed datasets) or
    /// the split (cached).
    public static func runDataset(
        checkpoint: Checkpoint, directory: String, split: Split, clip: Bool = true, threads: Int = 1,
        output: (_ predictions: [Float]) throws -> Void
    ) throws -> Report {
        let (manifest, sha) = try DatasetManifest.load(directory: directory)
        try checkpoint.header.dataset.checkCompatible(
            with: DatasetFingerprint(manifest: manifest, sha256: sha), directory: directory)
        let dataset = try Dataset.load(directory: directory, splits: [split])
        let predictor = Predictor(model: checkpoint.model, threads: threads)
        let rule = OutputRule(checkpoint: checkpoint, clip: clip)
        var report = Report()
        try dataset.forEachShard(of: split) { data in
            let predictions = predictor.predict(data).map(rule.apply)
            report.rows += predictions.count
            try output(predictions)
        }
        report.written = report.rows
        return report
    }
}
