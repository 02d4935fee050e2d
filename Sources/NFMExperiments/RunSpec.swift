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
    /// The run's x value in a sweep figure (a dropout ratio, an L2 λ); nil for tables and epoch curves.
    public var x: Double?
    /// The model kind's name (`ModelKind.rawValue`, e.g. `nfm`, `wide-deep`).
    public var model: String
    /// k, the embedding size.
    public var factors: Int
    /// Hidden layer widths (NFM, Wide&Deep) or residual units' inner widths (DeepCross).
    public var layers: [Int]
    /// The activation's name (`Activation.rawValue`).
    public var activation: String
    /// Dropout ratio on the Bi-Interaction output (the concatenated embeddings for Wide&Deep, DeepCross).
    public var biDropout: Float
    /// Dropout ratio after every hidden layer or residual unit.
    public var hiddenDropout: Float
    /// Whether batch norm is asked for (`ModelConfig` turns it off for kinds without it).
    public var batchNorm: Bool
    /// The learning rate.
    public var learningRate: Float
    /// The L2 regularisation coefficient λ.
    public var l2: Float
    /// The epoch limit.
    public var epochs: Int
    /// Whether training stops after `patience` worsening epochs.
    public var earlyStop: Bool
    /// Consecutive worsening validation epochs that stop the run.
    public var patience: Int
    /// Instances per mini-batch.
    public var batchSize: Int
    /// The run's seed.
    public var seed: UInt64
    /// `name` of the run (an FM) whose checkpoint initialises this one.
    public var pretrainFrom: String?

    /// The run's identity: the first 16 hexadecimal digits of the SHA-256 of its JSON with sorted keys (its
    /// folder under `runs/`).
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
    /// The run's settings.
    public var spec: RunSpec
    /// Every epoch's record, in order.
    public var records: [EpochRecord]
    /// The epoch with the lowest validation metric.
    public var bestEpoch: Int
    /// Whether early stopping ended the run before the epoch limit.
    public var stoppedEarly: Bool
    /// Number of trainable parameters of the model.
    public var parameters: Int
    /// Wall time of the run, in seconds.
    public var seconds: Double

    /// The best epoch's record (the last epoch's if the best is missing).
    public var best: EpochRecord { records.first { $0.epoch == bestEpoch } ?? records.last! }
    /// The best epoch's validation metric (RMSE or log loss).
    public var bestValidation: Double { best.validation.primary }
    /// The best epoch's test metric (RMSE or log loss).
    public var bestTest: Double { best.test.primary }
}
