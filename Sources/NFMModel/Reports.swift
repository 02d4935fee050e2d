import Foundation
import NFMFormat

/// Run-directory reports: `metrics.csv`, `curve.svg` and `summary.json`.
public enum Reports {
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

    /// A learning-curve chart: train and validation metric (and test, dashed) per epoch.
    public static func svg(records: [EpochRecord], loss: LossKind, title: String) -> String {
        let width = 720.0, height = 420.0
        let left = 70.0, right = 20.0, top = 40.0, bottom = 50.0
        let series: [(String, String, String, [Double])] = [
            ("train", "#1f77b4", "", records.map { $0.train.primary }),
            ("validation", "#d62728", "", records.map { $0.validation.primary }),
            ("test", "#7f7f7f", "stroke-dasharray=\"5,4\"", records.map { $0.test.primary }),
        ]
        let values = series.flatMap(\.3).filter(\.isFinite)
        var low = values.min() ?? 0, high = values.max() ?? 1
        if high - low < 1e-9 { high = low + 1e-3; low -= 1e-3 }
        let pad = (high - low) * 0.05
        low -= pad
        high += pad
        let epochs = Double(max(records.count, 2))
        func x(_ i: Int) -> Double { left + (Double(i) - 1) / (epochs - 1) * (width - left - right) }
        func y(_ v: Double) -> Double { top + (high - v) / (high - low) * (height - top - bottom) }
        let metricName = loss == .squared ? "RMSE" : "log loss"
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="22" font-size="14">\(escape(title))</text>

            """
        for t in 0...5 {
            let v = low + (high - low) * Double(t) / 5
            let yy = y(v)
            out += "<line x1=\"\(left)\" y1=\(q(yy)) x2=\"\(width - right)\" y2=\(q(yy)) stroke=\"#e0e0e0\"/>"
            out += "<text x=\"\(left - 6)\" y=\(q(yy + 4)) text-anchor=\"end\">\(String(format: "%.4f", v))</text>\n"
        }
        let step = max(1, records.count / 10)
        for i in stride(from: 1, through: max(records.count, 1), by: step) {
            out += "<text x=\(q(x(i))) y=\"\(height - bottom + 18)\" text-anchor=\"middle\">\(i)</text>\n"
        }
        out += "<text x=\(q((left + width - right) / 2)) y=\"\(height - 10)\" text-anchor=\"middle\">epoch</text>\n"
        out += "<text transform=\"translate(16,\(Int((top + height - bottom) / 2))) rotate(-90)\" text-anchor=\"middle\">\(metricName)</text>\n"
        out += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(width - left - right)\" height=\"\(height - top - bottom)\" fill=\"none\" stroke=\"#333\"/>\n"
        for (index, (name, color, dash, points)) in series.enumerated() {
            let coordinates = points.enumerated().filter { $0.element.isFinite }.map {
                String(format: "%.1f,%.1f", x($0.offset + 1), y($0.element))
            }
            if !coordinates.isEmpty {
                out += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\" \(dash) points=\"\(coordinates.joined(separator: " "))\"/>\n"
            }
            let ly = top + 16 + Double(index) * 16
            out += "<line x1=\"\(width - right - 130)\" y1=\(q(ly - 4)) x2=\"\(width - right - 105)\" y2=\(q(ly - 4)) stroke=\"\(color)\" stroke-width=\"2\" \(dash)/>"
            out += "<text x=\"\(width - right - 100)\" y=\(q(ly))>\(name)</text>\n"
        }
        if let best = records.min(by: { $0.validation.primary < $1.validation.primary }) {
            out += "<circle cx=\(q(x(best.epoch))) cy=\(q(y(best.validation.primary))) r=\"4\" fill=\"none\" stroke=\"#d62728\"/>\n"
        }
        out += "</svg>\n"
        return out
    }

    private static func q(_ v: Double) -> String { "\"" + String(format: "%.1f", v) + "\"" }

    private static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    static func writeTables(records: [EpochRecord], loss: LossKind, to directory: String, title: String = "") throws {
        try FileSystem.writeAtomically(Array(csv(records: records, loss: loss).utf8), to: directory + "/metrics.csv")
        try FileSystem.writeAtomically(
            Array(svg(records: records, loss: loss, title: title.isEmpty ? "learning curve" : title).utf8),
            to: directory + "/curve.svg")
    }
}

/// The JSON summary of a training run (`summary.json`, and stdout with `--json`).
public struct TrainingSummary: Codable, Sendable {
    public struct Timing: Codable, Sendable {
        public var epochs: Int
        public var trainSecondsMin: Double
        public var trainSecondsMedian: Double
        public var trainSecondsMax: Double
        public var evalSecondsMedian: Double
        public var totalSeconds: Double
    }

    public var tool = ToolInfo.name
    public var dataset: String
    public var datasetName: String
    public var manifestSHA256: String
    public var model: ModelConfig
    public var optimizer: String
    public var learningRate: Float
    public var batchSize: Int
    public var l2: Float
    public var seed: UInt64
    public var threads: Int
    public var initFrom: String?
    public var bestEpoch: Int
    public var stoppedEarly: Bool
    public var best: EpochRecord?
    public var timing: Timing
    public var checkpoint: String?
    public var epochs: [EpochRecord]

    public init(trainer: Trainer, result: TrainingResult, totalSeconds: Double) {
        dataset = trainer.dataset.directory
        datasetName = trainer.dataset.manifest.name
        manifestSHA256 = trainer.dataset.manifestSHA256
        model = trainer.config
        optimizer = trainer.options.optimizer.rawValue
        learningRate = trainer.options.resolvedLearningRate
        batchSize = trainer.options.batchSize
        l2 = trainer.options.l2
        seed = trainer.options.seed
        threads = trainer.options.threads
        initFrom = trainer.options.initFrom
        bestEpoch = result.bestEpoch
        stoppedEarly = result.stoppedEarly
        best = result.records.first { $0.epoch == result.bestEpoch }
        let times = result.records.map(\.trainSeconds).sorted()
        let evals = result.records.map(\.evalSeconds).sorted()
        timing = Timing(
            epochs: result.records.count, trainSecondsMin: times.first ?? 0,
            trainSecondsMedian: times.isEmpty ? 0 : times[times.count / 2], trainSecondsMax: times.last ?? 0,
            evalSecondsMedian: evals.isEmpty ? 0 : evals[evals.count / 2], totalSeconds: totalSeconds)
        checkpoint = result.checkpointPath
        epochs = result.records
    }

    public func encoded() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }
}
