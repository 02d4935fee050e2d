import NFMFormat

import NFMKernels

/// Which model to train.
public enum ModelKind: String, Codable, Sendable, CaseIterable {
    /// Neural Factorization Machine (He & Chua, SIGIR 2017, eq. 7).
    case nfm
    /// Factorization Machine (Rendle, ICDM 2010), computed as NFM-0 with a fixed all-ones prediction vector.
    case fm
    /// Logistic / linear regression: bias and first-order weights only.
    case lr
    /// Wide&Deep (Cheng et al., DLRS 2016) as a baseline of the NFM paper: a linear part on the raw
    /// features plus an MLP on the concatenated field embeddings.
    case wideDeep = "wide-deep"
    /// DeepCross (Shan et al., KDD 2016): residual units on the concatenated field embeddings.
    case deepCross = "deep-cross"
    /// Higher-order FM of order 3 (Blondel et al., NIPS 2016), with separate embeddings per order.
    case hofm

    /// Hidden layer widths when none are given (`ModelDefaults.of(self).layers`): NFM's one layer of 64 (the
    /// paper's Frappe setting), Wide&Deep's 1024-512-256 and DeepCross's residual units of 512, 512, 256, 128,
    /// 64 (the NFM paper's settings for its baselines), none for the others.
    public var defaultLayers: [Int] { ModelDefaults.of(self).layers }

    /// Whether the model's input is the concatenation of per-field embeddings (it needs the dataset's fields).
    public var concatenatesFields: Bool { self == .wideDeep || self == .deepCross }

    /// Whether the model has the first-order part `Σᵢ wᵢxᵢ` (DeepCross, as in its paper, has none).
    public var hasLinearPart: Bool { self != .deepCross }
}

/// The activation after each hidden layer (NFM, Wide&Deep) and inside each residual unit (DeepCross).
public enum Activation: String, Codable, Sendable, CaseIterable {
    /// `relu` max(0, x), `sigmoid` 1 / (1 + e⁻ˣ), `tanh`, `identity` (none); the raw values are the command
    /// line's and the checkpoint's spelling.
    case relu, sigmoid, tanh, identity

    var kernel: ActivationKind {
        switch self {
        case .relu: .relu
        case .sigmoid: .sigmoid
        case .tanh: .tanh
        case .identity: .identity
        }
    }
}

/// The training loss, which also fixes the metrics and how predictions are read.
public enum LossKind: String, Codable, Sendable, CaseIterable {
    /// `½(ŷ − y)²` summed over the batch; labels as stored (e.g. ±1). Metric: RMSE of clipped predictions.
    case squared
    /// Logistic loss on `σ(ŷ)`, labels mapped to {0, 1}. Metrics: log loss and AUC.
    case log
}

/// The architecture of a model: everything needed to rebuild it from a checkpoint.
public struct ModelConfig: Codable, Sendable, Equatable {
    /// The architecture.
    public var kind: ModelKind
    /// n, the number of features: rows of the embedding and first-order weight tables.
    public var featureCount: Int
    /// k, the embedding size (0 for LR).
    public var factors: Int
    /// Hidden layer widths (empty: NFM-0, FM, LR, HOFM); Wide&Deep's hidden layers; DeepCross's residual
    /// units' inner widths.
    public var layers: [Int]
    /// The activation of the hidden layers and residual units.
    public var activation: Activation
    /// Dropout ratio on the Bi-Interaction output (NFM, FM); on the concatenated embeddings (Wide&Deep,
    /// DeepCross); on the pooled order-2 and order-3 interaction vectors (HOFM).
    public var biDropout: Float
    /// Dropout ratio after each hidden layer or residual unit (same count as `layers`).
    public var hiddenDropout: [Float]
    /// Whether batch normalisation follows the Bi-Interaction pooling (NFM, FM) and each hidden layer
    /// (NFM, Wide&Deep).
    public var batchNorm: Bool
    /// The training loss.
    public var loss: LossKind
    /// Batch-norm ε and moving-average decay (TensorFlow's `batch_norm` defaults as used by the authors).
    public var batchNormEpsilon: Float
    /// Moving-average decay of batch norm's inference statistics: `m ← decay·m + (1 − decay)·batch`.
    public var batchNormDecay: Float
    /// Cardinalities of the dataset's fields, in feature-index order (field `f` owns the features
    /// `Σ_{g<f} fieldSizes[g] ..< Σ_{g≤f} fieldSizes[g]`). Set for Wide&Deep and DeepCross, whose input is
    /// the concatenation of per-field embeddings; `Trainer` fills it from the dataset's manifest. Absent
    /// from checkpoints of other models (and from every format-1 checkpoint).
    public var fieldSizes: [Int]?

    /// Every argument left `nil` takes the kind's `ModelDefaults` (the same values `nfm train` uses), so
    /// `ModelConfig(kind: .fm, featureCount: n)` is the FM that `nfm train --model fm` trains.
    /// `layers: nil` (or, for Wide&Deep and DeepCross, an empty list) gives the kind's default layers;
    /// `hiddenDropout` repeats its last ratio for deeper stacks (an empty list: no hidden dropout).
    /// Batch norm applies to NFM, FM (when asked) and Wide&Deep's hidden layers; it is off for LR, HOFM and
    /// DeepCross whatever is asked.
    public init(
        kind: ModelKind, featureCount: Int, factors: Int? = nil, layers: [Int]? = nil, activation: Activation? = nil,
        biDropout: Float? = nil, hiddenDropout: [Float]? = nil, batchNorm: Bool? = nil, loss: LossKind = .squared,
        batchNormEpsilon: Float = 0.001, batchNormDecay: Float = 0.9, fieldSizes: [Int]? = nil
    ) {
        let defaults = ModelDefaults.of(kind)
        self.kind = kind
        self.featureCount = featureCount
        self.factors = kind == .lr ? 0 : factors ?? defaults.factors
        switch kind {
        case .nfm: self.layers = (layers ?? defaults.layers).filter { $0 > 0 }
        case .wideDeep, .deepCross:
            let given = (layers ?? []).filter { $0 > 0 }
            self.layers = given.isEmpty ? defaults.layers : given
        case .fm, .lr, .hofm: self.layers = []
        }
        self.activation = activation ?? defaults.activation
        self.biDropout = kind == .lr ? 0 : biDropout ?? defaults.biDropout
        let hidden = hiddenDropout ?? defaults.hiddenDropout
        self.hiddenDropout = self.layers.indices.map { i in hidden.isEmpty ? 0 : hidden[min(i, hidden.count - 1)] }
        self.batchNorm = [.lr, .hofm, .deepCross].contains(kind) ? false : batchNorm ?? defaults.batchNorm
        self.loss = loss
        self.batchNormEpsilon = batchNormEpsilon
        self.batchNormDecay = batchNormDecay
        self.fieldSizes = kind.concatenatesFields ? fieldSizes : nil
    }

    /// Number of fields of the concatenated input (0 unless `fieldSizes` is set).
    public var fieldCount: Int { fieldSizes?.count ?? 0 }

    /// Width of the concatenated field embeddings (Wide&Deep and DeepCross): fields × k.
    public var concatWidth: Int { fieldCount * factors }

    /// Checks the configuration: positive sizes within `TrainingLimits`, dropout ratios in [0, 1), field
    /// sizes that add up to the features, and at most `TrainingLimits.maxParameters` parameters (computed
    /// with checked arithmetic, so a corrupted checkpoint header cannot overflow it). Throws `.configuration`.
    public func validate() throws {
        func fail(_ message: String) -> ModelError { ModelError(.configuration, message) }
        guard featureCount > 0 else { throw fail("the dataset has no features") }
        if kind != .lr { try TrainingLimits.check(factors, in: 1...TrainingLimits.maxFactors, option: "--factors") }
        try TrainingLimits.check(layers.count, in: 0...TrainingLimits.maxLayerCount, option: "the number of --layers")
        for width in layers { try TrainingLimits.check(width, in: 1...TrainingLimits.maxLayerWidth, option: "--layers") }
        for p in [biDropout] + hiddenDropout where !(p >= 0 && p < 1) {
            throw fail("dropout ratios must be in [0, 1) (got \(p))")
        }
        if kind.concatenatesFields {
            guard let sizes = fieldSizes, !sizes.isEmpty else {
                throw fail("\(kind.rawValue) concatenates per-field embeddings and needs the dataset's fields")
            }
            var total = 0
            for size in sizes where size > 0 { total = total &+ size; if total > featureCount { break } }
            guard sizes.allSatisfy({ $0 > 0 }), total == featureCount else {
                throw fail("the field sizes \(sizes.prefix(8))\(sizes.count > 8 ? "…" : "") do not add up to the \(featureCount) features")
            }
        }
        guard let count = parameterBound, count <= TrainingLimits.maxParameters else {
            throw fail(
                "a \(kind.rawValue) model with \(featureCount) features, k=\(factors) and layers \(layers) has more than \(TrainingLimits.maxParameters) parameters")
        }
    }

    /// An upper bound on the stored parameters: `n·(2k + 1)` embeddings and first-order weights, plus
    /// `2·(w_in + 1)·w` per hidden layer or residual unit (`w_in` the wider of its input and the concatenated
    /// embeddings). nil when it overflows `Int`.
    var parameterBound: Int? {
        func mul(_ a: Int, _ b: Int) -> Int? {
            let (r, o) = a.multipliedReportingOverflow(by: b)
            return o ? nil : r
        }
        func add(_ a: Int?, _ b: Int?) -> Int? {
            guard let a, let b else { return nil }
            let (r, o) = a.addingReportingOverflow(b)
            return o ? nil : r
        }
        guard let concat = mul(fieldCount, factors) else { return nil }
        var total = mul(featureCount, 2 * factors + 1)
        var input = max(factors, concat)
        for width in layers {
            total = add(total, mul(2 * width, max(input, concat) + 1))
            input = width
        }
        return add(total, input + 1)
    }

    /// Width of the vector entering the prediction vector `h`: the last hidden layer (NFM, Wide&Deep),
    /// k (NFM-0, FM, HOFM), the concatenated embeddings (DeepCross, whose residual units keep the width).
    public var outputWidth: Int {
        switch kind {
        case .deepCross: concatWidth
        case .lr: 0
        default: layers.last ?? factors
        }
    }

    /// Whether `h` is trained (NFM, Wide&Deep, DeepCross) or fixed to ones (FM) or absent (LR, HOFM).
    public var trainsPrediction: Bool { kind == .nfm || kind.concatenatesFields }

    /// A one-line description for progress output and reports, e.g.
    /// `NFM layers=64 k=64 relu dropout=0.5,0.2 batch-norm`.
    public var summary: String {
        switch kind {
        case .lr: return "LR"
        case .fm:
            return "FM k=\(factors) dropout=\(biDropout)\(batchNorm ? " batch-norm" : "")"
        case .nfm:
            let layerText = layers.isEmpty ? "NFM-0" : "NFM layers=\(layers.map(String.init).joined(separator: ","))"
            return "\(layerText) k=\(factors) \(activation.rawValue) dropout=\(([biDropout] + hiddenDropout).map { "\($0)" }.joined(separator: ","))\(batchNorm ? " batch-norm" : "")"
        case .wideDeep, .deepCross:
            let name = kind == .wideDeep ? "Wide&Deep layers" : "DeepCross residual units"
            return "\(name)=\(layers.map(String.init).joined(separator: ",")) k=\(factors) fields=\(fieldCount) \(activation.rawValue) dropout=\(([biDropout] + hiddenDropout).map { "\($0)" }.joined(separator: ","))\(batchNorm ? " batch-norm" : "")"
        case .hofm:
            return "HOFM order 3 k=\(factors) dropout=\(biDropout)"
        }
    }
}
