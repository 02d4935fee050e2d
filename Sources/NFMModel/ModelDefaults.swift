import Foundation
import NFMFormat

/// The default architecture and learning rate of each model kind: the one source of these values for
/// `ModelConfig.init`, `TrainingOptions` and `nfm train`, so a model built by the library and one trained
/// by the command line with the same explicit settings are the same model.
///
/// NFM: the paper's Frappe setting (He & Chua, SIGIR 2017): k = 64, one hidden layer of 64, ReLU, dropout
/// 0.5 on the Bi-Interaction output and 0.2 after the hidden layer, batch norm, Adagrad lr 0.05.
/// FM and HOFM: dropout 0.5 on the (pooled) interaction vectors, no batch norm (the authors' FM.py).
/// LR: no dropout, no batch norm. Wide&Deep and DeepCross: dropout 0.2 on the concatenated embeddings and
/// 0.5 after each hidden layer or residual unit, no batch norm, Adagrad lr 0.01 (with the authors' initial
/// accumulator of 1e-8 each weight's first step is ≈ ±lr, which at 0.05 blows up their deep layers:
/// DeepCross's first-epoch training loss reached 10⁸ on Frappe; see docs/TRAINING-BENCHMARKS.md).
public struct ModelDefaults: Sendable, Equatable {
    /// Embedding size k (0 for LR).
    public var factors: Int
    /// Hidden layer widths (NFM), hidden layers (Wide&Deep) or residual units' inner widths (DeepCross).
    public var layers: [Int]
    public var activation: Activation
    /// Dropout ratio on the Bi-Interaction output (the concatenated embeddings for Wide&Deep and DeepCross).
    public var biDropout: Float
    /// Dropout ratios after the hidden layers; the last one repeats for deeper stacks.
    public var hiddenDropout: [Float]
    public var batchNorm: Bool

    /// The defaults of `kind`.
    public static func of(_ kind: ModelKind) -> ModelDefaults {
        switch kind {
        case .nfm:
            ModelDefaults(factors: 64, layers: [64], activation: .relu, biDropout: 0.5, hiddenDropout: [0.2], batchNorm: true)
        case .fm, .hofm:
            ModelDefaults(factors: 64, layers: [], activation: .relu, biDropout: 0.5, hiddenDropout: [], batchNorm: false)
        case .lr:
            ModelDefaults(factors: 0, layers: [], activation: .relu, biDropout: 0, hiddenDropout: [], batchNorm: false)
        case .wideDeep:
            ModelDefaults(
                factors: 64, layers: [1024, 512, 256], activation: .relu, biDropout: 0.2, hiddenDropout: [0.5],
                batchNorm: false)
        case .deepCross:
            ModelDefaults(
                factors: 64, layers: [512, 512, 256, 128, 64], activation: .relu, biDropout: 0.2, hiddenDropout: [0.5],
                batchNorm: false)
        }
    }

    /// The default dropout ratios as `nfm train --dropout` spells them: the Bi-Interaction ratio, then the
    /// hidden ones (e.g. "0.5,0.2").
    public var dropoutText: String { ([biDropout] + hiddenDropout).map { "\($0)" }.joined(separator: ",") }

    /// The default learning rate of `kind` trained with `optimizer`: the optimiser's default
    /// (`OptimizerKind.defaultLearningRate`), except Adagrad on Wide&Deep and DeepCross: 0.01.
    public static func learningRate(_ kind: ModelKind, optimizer: OptimizerKind) -> Float {
        kind.concatenatesFields && optimizer == .adagrad ? 0.01 : optimizer.defaultLearningRate
    }
}

extension ModelDefaults {
    /// The bias w₀ a model starts from on a dataset: 0 (the authors' initialisation) for datasets with
    /// sampled negatives; for an explicit label column (manifest `label`), the label mean ȳ under squared
    /// loss and the log-odds ln(p / (1 − p)) of the positive share p under log loss (p clamped to
    /// [10⁻⁶, 1 − 10⁻⁶]), so that a 1–5 rating or a 3 % click rate is not learnt from 0 first.
    public static func initialBias(for manifest: DatasetManifest, loss: LossKind) -> Float {
        guard let label = manifest.label, manifest.counts.instances > 0 else { return 0 }
        switch loss {
        case .squared:
            return Float(label.mean)
        case .log:
            let p = min(max(Double(label.atMaximum) / Double(manifest.counts.instances), 1e-6), 1 - 1e-6)
            return Float(Foundation.log(p / (1 - p)))
        }
    }
}
