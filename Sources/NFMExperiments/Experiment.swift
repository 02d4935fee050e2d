import Foundation

/// The tuning grid and defaults shared by all experiments; every value can be narrowed from the command
/// line. Defaults are the paper's grids (He & Chua 2017, §4.1): learning rates {0.005, 0.01, 0.02, 0.05},
/// dropout ratios 0…0.9, L2 λ 1e-6…1e-1, early stopping after 4 worsening epochs.
public struct ExperimentGrid: Codable, Sendable {
    /// Learning rates tried by the tables; each group reports its run with the best validation metric.
    public var learningRates: [Float] = [0.005, 0.01, 0.02, 0.05]
    /// Dropout ratios swept by Figure 3 (0, 0.1, …, 0.9).
    public var dropouts: [Float] = (0...9).map { Float($0) / 10 }
    /// L2 coefficients λ swept by Figure 3.
    public var l2s: [Float] = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1]
    /// Learning rate of the figure experiments (one curve per setting, no tuning).
    public var figureLearningRate: Float = 0.05
    /// k for Table 2 and the figures; Table 3 uses `tableFactors`.
    public var factors = 64
    /// The embedding sizes of Table 3 (the paper's 128 and 256).
    public var tableFactors = [128, 256]
    /// Hidden layers of the Table 3 baselines (the paper's: 1024-512-256 ReLU; five residual units).
    public var wideDeepLayers = [1024, 512, 256]
    /// Residual units' inner widths of the Table 3 DeepCross baseline.
    public var deepCrossLayers = [512, 512, 256, 128, 64]
    /// The epoch limit of every run.
    public var epochs = 200
    /// Consecutive worsening validation epochs that stop a run.
    public var patience = 4
    /// Instances per mini-batch.
    public var batchSize = 128
    /// The seed of every run.
    public var seed: UInt64 = 2016
    /// The paper's Frappe dropout: on the Bi-Interaction output and on hidden layers.
    public var biDropout: Float = 0.5
    /// Dropout ratio after each hidden layer.
    public var hiddenDropout: Float = 0.2
    /// The paper's grid and settings.
    public init() {}
}

/// A named experiment of the paper: its runs and how its report reads them.
public struct Experiment: Sendable {
    /// The paper's experiments: Tables 2 and 3, Figures 3 to 7 (`ExperimentCatalog` has each one's runs).
    public enum Kind: String, CaseIterable, Sendable {
        /// `table2` NFM with 0–4 hidden layers; `table3` all methods; `fig3` dropout and L2 sweeps; `fig4` and
        /// `fig5` curves with and without dropout and batch norm; `fig6` activations by hidden dropout; `fig7` FM
        /// pre-training. The raw values are the command line's names.
        case table2, table3, fig3, fig4, fig5, fig6, fig7
    }

    /// Which table or figure this is.
    public let kind: Kind
    /// The report's title (`ExperimentCatalog.title`).
    public let title: String
    /// The runs, in catalogue order.
    public private(set) var runs: [RunSpec]

    /// Only the runs whose group starts with one of `prefixes` (e.g. `["LR", "FM", "NFM"]` for those
    /// rows of Table 3), plus the groups they pre-train from.
    public func restricted(toGroupsStartingWith prefixes: [String]) -> Experiment {
        var copy = self
        let kept = runs.filter { run in prefixes.contains { run.group.hasPrefix($0) } }
        let sources = Set(kept.compactMap(\.pretrainFrom))
        copy.runs = runs.filter { run in kept.contains(run) || sources.contains(run.group) || sources.contains(run.name) }
        return copy
    }

    /// The experiment of `kind` over `grid`: its title and its runs (`ExperimentCatalog`).
    public init(_ kind: Kind, grid: ExperimentGrid) {
        self.kind = kind
        title = ExperimentCatalog.title(of: kind, grid: grid)
        runs = ExperimentCatalog(grid: grid).runs(of: kind)
    }
}
