import Foundation

/// The tuning grid and defaults shared by all experiments; every value can be narrowed from the command
/// line. Defaults are the paper's grids (He & Chua 2017, §4.1): learning rates {0.005, 0.01, 0.02, 0.05},
/// dropout ratios 0…0.9, L2 λ 1e-6…1e-1, early stopping after 4 worsening epochs.
public struct ExperimentGrid: Codable, Sendable {
    public var learningRates: [Float] = [0.005, 0.01, 0.02, 0.05]
    public var dropouts: [Float] = (0...9).map { Float($0) / 10 }
    public var l2s: [Float] = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1]
    /// Learning rate of the figure experiments (one curve per setting, no tuning).
    public var figureLearningRate: Float = 0.05
    /// k for Table 2 and the figures; Table 3 uses `tableFactors`.
    public var factors = 64
    public var tableFactors = [128, 256]
    /// Hidden layers of the Table 3 baselines (the paper's: 1024-512-256 ReLU; five residual units).
    public var wideDeepLayers = [1024, 512, 256]
    public var deepCrossLayers = [512, 512, 256, 128, 64]
    public var epochs = 200
    public var patience = 4
    public var batchSize = 128
    public var seed: UInt64 = 2016
    /// The paper's Frappe dropout: on the Bi-Interaction output and on hidden layers.
    public var biDropout: Float = 0.5
    public var hiddenDropout: Float = 0.2
    public init() {}
}

/// A named experiment of the paper: its runs and how its report reads them.
public struct Experiment: Sendable {
    public enum Kind: String, CaseIterable, Sendable {
        case table2, table3, fig3, fig4, fig5, fig6, fig7
    }

    public let kind: Kind
    public let title: String
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
