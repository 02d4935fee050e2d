import NFMFormat

/// The authors' early stopping: training stops once the validation metric (lower is better) has worsened
/// `patience` epochs in a row; the best epoch is the one with the lowest metric (the first, on ties).
public struct EarlyStopping: Sendable {
    /// What one epoch's metric means for the run.
    public struct Decision: Sendable, Equatable {
        /// The metric is the lowest so far: keep this epoch's model.
        public var isBest: Bool
        /// Stop training (only when enabled).
        public var stop: Bool
    }

    /// Number of consecutive worsening epochs that stops training.
    public let patience: Int
    /// Whether `record` may ask to stop; when false it only tracks the best epoch.
    public let enabled: Bool
    /// The best epoch so far and its metric.
    public private(set) var best: (epoch: Int, metric: Double)?
    /// Epochs in a row whose metric was higher than the previous epoch's.
    public private(set) var worsening = 0
    private var previous: Double?

    /// A tracker with nothing recorded yet.
    public init(patience: Int, enabled: Bool) {
        self.patience = patience
        self.enabled = enabled
    }

    /// Records epoch `epoch`'s validation metric (finite).
    public mutating func record(epoch: Int, metric: Double) -> Decision {
        var isBest = false
        if best.map({ metric < $0.metric }) ?? true {
            best = (epoch, metric)
            isBest = true
        }
        if let previous, metric > previous { worsening += 1 } else { worsening = 0 }
        previous = metric
        return Decision(isBest: isBest, stop: enabled && worsening >= patience)
    }
}
