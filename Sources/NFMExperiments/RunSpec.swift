import Foundation
import NFMFormat
import NFMModel

/// One training run of an experiment: architecture, training knobs, and where it sits in the report.
///
/// A run is identified by the SHA-256 of its canonical JSON, so a resumed experiment recognises the runs it
/// already finished (their `result.json` exists) and only trains the rest.
public struct RunSpec: Codable, Hashable, Sendable {
    /// Row or curve label in the report, unique within an experiment (e.g. "NFM-1", "W&D (pre-train) k=128").
    public var name: String
    /// Group whose best-validation run represents it in a table (e.g. "NFM-1" over its learning rates).
    public var group: String
    /// Plot series and x value for sweeps.
    public var series: String
    public var x: Double?
    public var model: String
    public var factors: Int
    public var layers: [Int]
    public var activation: String
    public var biDropout: Float
    public var hiddenDropout: Float
    public var batchNorm: Bool
    public var learningRate: Float
    public var l2: Float
    public var epochs: Int
    public var earlyStop: Bool
    public var patience: Int
    public var batchSize: Int
    public var seed: UInt64
    /// `name` of the run (an FM) whose checkpoint initialises this one.
    public var pretrainFrom: String?

    public var id: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = Array((try? encoder.encode(self)) ?? Data())
        return String(SHA256.hexDigest(of: bytes).prefix(16))
    }

    func modelConfig(featureCount: Int) throws -> ModelConfig {
        guard let kind = ModelKind(rawValue: model) else {
            throw NFMError(
                .configuration, "not available in this build (known: \(ModelKind.allCases.map(\.rawValue)))",
                at: .init(field: "model", value: model))
        }
        guard let activation = Activation(rawValue: activation) else {
            throw NFMError(.configuration, "unknown activation", at: .init(field: "activation", value: activation))
        }
        return ModelConfig(
            kind: kind, featureCount: featureCount, factors: factors, layers: layers, activation: activation,
            biDropout: biDropout, hiddenDropout: layers.map { _ in hiddenDropout }, batchNorm: batchNorm)
    }

    func trainingOptions(initFrom: String?, threads: Int) -> TrainingOptions {
        var options = TrainingOptions()
        options.epochs = epochs
        options.batchSize = batchSize
        options.learningRate = learningRate
        options.l2 = l2
        options.earlyStop = earlyStop
        options.patience = patience
        options.seed = seed
        options.threads = threads
        options.initFrom = initFrom
        return options
    }
}

/// What a finished run leaves in `runs/<id>/result.json`.
public struct RunResult: Codable, Sendable {
    public var spec: RunSpec
    public var records: [EpochRecord]
    public var bestEpoch: Int
    public var stoppedEarly: Bool
    public var parameters: Int
    public var seconds: Double

    public var best: EpochRecord { records.first { $0.epoch == bestEpoch } ?? records.last! }
    public var bestValidation: Double { best.validation.primary }
    public var bestTest: Double { best.test.primary }
}
