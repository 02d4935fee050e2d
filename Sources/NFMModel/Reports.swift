import Foundation
import NFMFormat

/// The tables of a run directory: `metrics.csv` (one row per epoch) and `curve.svg` (the learning curve).
public enum Reports {
    /// `metrics.csv`: a header, then one row per epoch (epoch, mean training loss, each split's RMSE — or
    /// log loss and AUC — to 6 decimals, training and evaluation seconds).
    public static func csv(records: [EpochRecord], loss: LossKind) -> String {
        func f(_ x: Double?) -> String { x.map { String(format: "%.6f", $0) } ?? "" }
        var lines: [String]
        switch loss {
        case .squared:
            lines = ["epoch,train_loss,train_rmse,validation_rmse,test_rmse,train_seconds,eval_seconds"]
            for r in records {
                lines.append(
                    "\(r.epoch),\(f(r.trainLoss)),\(f(r.train.rmse)),\(f(r.validation.rmse)),\(f(r.test.rmse)),\(f(r.trainSeconds)),\(f(r.evalSeconds))")
            }
        case .log:
            lines = [
                "epoch,train_loss,train_logloss,validation_logloss,test_logloss,train_auc,validation_auc,test_auc,train_seconds,eval_seconds"
            ]
            for r in records {
                lines.append(
                    "\(r.epoch),\(f(r.trainLoss)),\(f(r.train.logLoss)),\(f(r.validation.logLoss)),\(f(r.test.logLoss)),\(f(r.train.auc)),\(f(r.validation.auc)),\(f(r.test.auc)),\(f(r.trainSeconds)),\(f(r.evalSeconds))"
                )
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The learning curve (`curve.svg`): train, validation and (dashed) test metric per epoch, the best
    /// validation epoch circled. `title` names the model and the dataset.
    public static func svg(records: [EpochRecord], loss: LossKind, title: String) -> String {
        let metric = loss == .squared ? "RMSE" : "log loss"
        func points(_ value: (EpochRecord) -> Double) -> [(x: Double, y: Double)] {
            records.map { (Double($0.epoch), value($0)) }
        }
        let best = records.filter { $0.validation.primary.isFinite }.min { $0.validation.primary < $1.validation.primary }
        let chart = SVGChart(
            title: title.isEmpty ? "\(metric) per epoch" : "\(title): \(metric) per epoch", xLabel: "epoch", yLabel: metric,
            series: [
                .init(name: "train", points: points { $0.train.primary }, color: 0),
                .init(name: "validation", points: points { $0.validation.primary }, color: 1),
                .init(name: "test", points: points { $0.test.primary }, dashed: true, color: 8),
            ],
            xAxis: .linear(integer: true), highlight: best.map { (Double($0.epoch), $0.validation.primary, 1) })
        return SVGChart.document([chart], panelWidth: 720, height: 420)
    }
}
