import Dispatch
import Foundation
import NFMFormat
import NFMKernels

/// Metrics of one split at one epoch.
public struct SplitMetrics: Codable, Sendable, Equatable {
    /// Squared loss: RMSE of predictions clipped to the label range (as the authors).
    public var rmse: Double?
    /// Log loss: mean logistic loss of σ(ŷ) (probabilities clipped to [1e-7, 1 − 1e-7]).
    public var logLoss: Double?
    /// Log loss: area under the ROC curve (ties counted one half).
    public var auc: Double?

    /// The metric early stopping watches (lower is better).
    public var primary: Double { rmse ?? logLoss ?? .nan }
}

/// The evaluation metrics of the paper: RMSE for squared loss, log loss and ROC AUC for log loss.
public enum Metrics {
    /// Computes the metrics for `loss` from raw predictions (`ŷ`, or logits for log loss). A prediction
    /// that is NaN or infinite makes every metric NaN (clipping would otherwise hide a diverged model).
    public static func compute(
        predictions: [Float], labels: [Float], loss: LossKind, labelRange: ClosedRange<Float>, positive: Float
    ) -> SplitMetrics {
        let n = predictions.count
        guard n > 0 else { return SplitMetrics() }
        if predictions.contains(where: { !$0.isFinite }) {
            return loss == .squared ? SplitMetrics(rmse: .nan) : SplitMetrics(logLoss: .nan, auc: .nan)
        }
        switch loss {
        case .squared:
            var sum = 0.0
            for i in 0..<n {
                let p = min(max(predictions[i], labelRange.lowerBound), labelRange.upperBound)
                let d = Double(p) - Double(labels[i])
                sum += d * d
            }
            return SplitMetrics(rmse: (sum / Double(n)).squareRoot())
        case .log:
            var sum = 0.0
            for i in 0..<n {
                let p = min(max(1 / (1 + exp(-Double(predictions[i]))), 1e-7), 1 - 1e-7)
                sum -= labels[i] == positive ? log(p) : log(1 - p)
            }
            return SplitMetrics(logLoss: sum / Double(n), auc: auc(scores: predictions, positives: labels.map { $0 == positive }))
        }
    }

    /// ROC AUC by ranks (Mann–Whitney), ties averaged; nil when one class is absent.
    public static func auc(scores: [Float], positives: [Bool]) -> Double? {
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSumPositive = 0.0
        var positiveCount = 0.0
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let rank = Double(i + j) / 2 + 1
            for t in i...j where positives[order[t]] {
                rankSumPositive += rank
                positiveCount += 1
            }
            i = j + 1
        }
        let negativeCount = Double(order.count) - positiveCount
        guard positiveCount > 0, negativeCount > 0 else { return nil }
        return (rankSumPositive - positiveCount * (positiveCount + 1) / 2) / (positiveCount * negativeCount)
    }
}

/// Batched, multi-threaded inference over a split. Each thread predicts a contiguous range of rows
/// into its own place of the output, so predictions (and metrics) do not depend on the thread count.
public final class Predictor: @unchecked Sendable {
    /// The model scored (its parameters are read, never written).
    public let model: Model
    /// Number of threads that share the rows (at least 1).
    public let threads: Int
    /// Rows per forward pass; each thread holds a `Workspace` of this capacity.
    public let batchRows: Int
    private let workspaces: [Workspace]

    /// A predictor of `model` with one workspace of `batchRows` rows per thread.
    public init(model: Model, threads: Int, batchRows: Int = 512) {
        self.model = model
        self.threads = max(1, threads)
        self.batchRows = batchRows
        workspaces = (0..<max(1, threads)).map { _ in Workspace(model: model, capacity: batchRows) }
    }

    /// Predictions (ŷ; logits for log loss) for every row of `data`. Call `model.prepareInference()`
    /// after training steps first.
    public func predict(_ data: SplitData) -> [Float] {
        let n = data.rowCount
        var out = [Float](repeating: 0, count: n)
        let chunks = n < 4 * batchRows ? 1 : threads
        out.withUnsafeMutableBufferPointer { buffer in
            let target = UncheckedPointer(buffer.baseAddress!)
            let work: @Sendable (Int) -> Void = { (t: Int) in
                let lower = n * t / chunks
                let upper = n * (t + 1) / chunks
                let ws = self.workspaces[t]
                var random = Xoshiro256(seed: 0)
                var start = lower
                while start < upper {
                    let end = min(start + self.batchRows, upper)
                    data.withRows(start..<end) { x, _ in
                        self.model.forward(x, workspace: ws, training: false, random: &random)
                        (target.pointer + start).update(from: ws.predictions, count: end - start)
                    }
                    start = end
                }
            }
            if chunks == 1 {
                work(0)
            } else {
                DispatchQueue.concurrentPerform(iterations: chunks) { work($0) }
            }
        }
        return out
    }

    /// Metrics of `data`: predictions clipped to `labelRange` for RMSE, labels equal to `positive` counted
    /// positive for log loss and AUC.
    public func evaluate(_ data: SplitData, labelRange: ClosedRange<Float>, positive: Float) -> SplitMetrics {
        Metrics.compute(
            predictions: predict(data), labels: data.labels, loss: model.config.loss, labelRange: labelRange,
            positive: positive)
    }

    /// Metrics of one split of a cached or streamed dataset (shards scored one at a time).
    public func evaluate(_ split: Split, of dataset: Dataset) throws -> SplitMetrics {
        var predictions: [Float] = []
        var labels: [Float] = []
        try dataset.forEachShard(of: split) { data in
            predictions += predict(data)
            labels += data.labels
        }
        return Metrics.compute(
            predictions: predictions, labels: labels, loss: model.config.loss, labelRange: dataset.labelRange,
            positive: dataset.manifest.labels.positive)
    }
}

struct UncheckedPointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}
