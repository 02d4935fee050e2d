import NFMKernels

/// Which model to train.
public enum ModelKind: String, Codable, Sendable, CaseIterable {
    /// Neural Factorization Machine (He & Chua, SIGIR 2017, eq. 7).
    case nfm
    /// Factorization Machine (Rendle, ICDM 2010), computed as NFM-0 with a fixed all-ones prediction vector.
    case fm
    /// Logistic / linear regression: bias and first-order weights only.
    case lr
}

public enum Activation: String, Codable, Sendable, CaseIterable {
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

public enum LossKind: String, Codable, Sendable, CaseIterable {
    /// `½(ŷ − y)²` summed over the batch; labels as stored (e.g. ±1). Metric: RMSE of clipped predictions.
    case squared
    /// Logistic loss on `σ(ŷ)`, labels mapped to {0, 1}. Metrics: log loss and AUC.
    case log
}

/// The architecture of a model: everything needed to rebuild it from a checkpoint.
public struct ModelConfig: Codable, Sendable, Equatable {
    public var kind: ModelKind
    public var featureCount: Int
    /// k, the embedding size (0 for LR).
    public var factors: Int
    /// Hidden layer widths (empty: NFM-0, FM, LR).
    public var layers: [Int]
    public var activation: Activation
    /// Dropout ratio on the Bi-Interaction output.
    public var biDropout: Float
    /// Dropout ratio after each hidden layer (same count as `layers`).
    public var hiddenDropout: [Float]
    public var batchNorm: Bool
    public var loss: LossKind
    /// Batch-norm ε and moving-average decay (TensorFlow's `batch_norm` defaults as used by the authors).
    public var batchNormEpsilon: Float
    public var batchNormDecay: Float

    public init(
        kind: ModelKind, featureCount: Int, factors: Int = 64, layers: [Int] = [64], activation: Activation = .relu,
        biDropout: Float = 0.5, hiddenDropout: [Float]? = nil, batchNorm: Bool = true, loss: LossKind = .squared,
        batchNormEpsilon: Float = 0.001, batchNormDecay: Float = 0.9
    ) {
        self.kind = kind
        self.featureCount = featureCount
        self.factors = kind == .lr ? 0 : factors
        self.layers = kind == .nfm ? layers.filter { $0 > 0 } : []
        self.activation = activation
        self.biDropout = kind == .lr ? 0 : biDropout
        let hidden = hiddenDropout ?? []
        self.hiddenDropout = self.layers.indices.map { i in hidden.isEmpty ? 0 : hidden[min(i, hidden.count - 1)] }
        self.batchNorm = kind == .lr ? false : batchNorm
        self.loss = loss
        self.batchNormEpsilon = batchNormEpsilon
        self.batchNormDecay = batchNormDecay
    }

    public func validate() throws {
        func fail(_ message: String) -> ModelError { ModelError(.configuration, message) }
        guard featureCount > 0 else { throw fail("the dataset has no features") }
        if kind != .lr, factors <= 0 { throw fail("--factors must be positive (got \(factors))") }
        for (i, width) in layers.enumerated() where width <= 0 {
            throw fail("hidden layer \(i + 1) has width \(width)")
        }
        for p in [biDropout] + hiddenDropout where !(p >= 0 && p < 1) {
            throw fail("dropout ratios must be in [0, 1) (got \(p))")
        }
    }

    /// Width of the vector entering the prediction vector `h`.
    public var outputWidth: Int { layers.last ?? factors }

    /// Whether `h` is trained (NFM) or fixed to ones (FM).
    public var trainsPrediction: Bool { kind == .nfm }

    public var summary: String {
        switch kind {
        case .lr: return "LR"
        case .fm:
            return "FM k=\(factors) dropout=\(biDropout)\(batchNorm ? " batch-norm" : "")"
        case .nfm:
            let layerText = layers.isEmpty ? "NFM-0" : "NFM layers=\(layers.map(String.init).joined(separator: ","))"
            return "\(layerText) k=\(factors) \(activation.rawValue) dropout=\(([biDropout] + hiddenDropout).map { "\($0)" }.joined(separator: ","))\(batchNorm ? " batch-norm" : "")"
        }
    }
}
