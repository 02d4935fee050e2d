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

    public init(_ kind: Kind, grid: ExperimentGrid) {
        self.kind = kind
        var runs: [RunSpec] = []
        func spec(
            _ name: String, group: String? = nil, series: String? = nil, x: Double? = nil, model: String,
            factors: Int? = nil, layers: [Int] = [], activation: String = "relu", bi: Float? = nil,
            hidden: Float? = nil, batchNorm: Bool = true, lr: Float, l2: Float = 0, earlyStop: Bool = true,
            pretrain: String? = nil
        ) -> RunSpec {
            RunSpec(
                name: name, group: group ?? name, series: series ?? group ?? name, x: x, model: model,
                factors: factors ?? grid.factors, layers: layers, activation: activation, biDropout: bi ?? grid.biDropout,
                hiddenDropout: hidden ?? grid.hiddenDropout, batchNorm: batchNorm, learningRate: lr, l2: l2,
                epochs: grid.epochs, earlyStop: earlyStop, patience: grid.patience, batchSize: grid.batchSize,
                seed: grid.seed, pretrainFrom: pretrain)
        }
        let k = grid.factors
        switch kind {
        case .table2:
            title = "Table 2: NFM with 0–4 hidden layers (k = \(k)), test RMSE at the best validation epoch"
            for depth in 0...4 {
                for lr in grid.learningRates {
                    runs.append(
                        spec("NFM-\(depth) lr=\(lr)", group: "NFM-\(depth)", model: "nfm", layers: Array(repeating: k, count: depth), lr: lr))
                }
            }
        case .table3:
            title = "Table 3: all methods at k = \(grid.tableFactors.map(String.init).joined(separator: ", ")), test RMSE and parameters"
            for lr in grid.learningRates {
                runs.append(spec("LR lr=\(lr)", group: "LR", model: "lr", factors: 0, bi: 0, batchNorm: false, lr: lr))
            }
            for factors in grid.tableFactors {
                for lr in grid.learningRates {
                    let at = "k=\(factors)"
                    runs.append(spec("FM \(at) lr=\(lr)", group: "FM \(at)", model: "fm", factors: factors, batchNorm: false, lr: lr))
                    runs.append(spec("HOFM \(at) lr=\(lr)", group: "HOFM \(at)", model: "hofm", factors: factors, batchNorm: false, lr: lr))
                    for pre in [false, true] {
                        let suffix = pre ? " (pre-train)" : ""
                        runs.append(
                            spec(
                                "Wide&Deep\(suffix) \(at) lr=\(lr)", group: "Wide&Deep\(suffix) \(at)", model: "wide-deep",
                                factors: factors, layers: grid.wideDeepLayers, bi: 0, hidden: 0.5, batchNorm: false, lr: lr,
                                pretrain: pre ? "FM \(at)" : nil))
                        runs.append(
                            spec(
                                "DeepCross\(suffix) \(at) lr=\(lr)", group: "DeepCross\(suffix) \(at)", model: "deep-cross",
                                factors: factors, layers: grid.deepCrossLayers, bi: 0, hidden: 0.5, batchNorm: false,
                                lr: lr, pretrain: pre ? "FM \(at)" : nil))
                    }
                    runs.append(spec("NFM \(at) lr=\(lr)", group: "NFM \(at)", model: "nfm", factors: factors, layers: [factors], lr: lr))
                }
            }
        case .fig3:
            title = "Figure 3: NFM-0 (k = \(k)) train and validation RMSE against the dropout ratio (no L2) and against L2 λ (no dropout)"
            for d in grid.dropouts {
                runs.append(spec("dropout \(d)", series: "dropout", x: Double(d), model: "nfm", bi: d, lr: grid.figureLearningRate))
            }
            for l2 in grid.l2s {
                runs.append(spec("L2 \(l2)", series: "L2", x: Double(l2), model: "nfm", bi: 0, lr: grid.figureLearningRate, l2: l2))
            }
        case .fig4:
            title = "Figure 4: NFM-0 (k = \(k)) per-epoch train and validation RMSE with and without dropout"
            runs.append(spec("with dropout \(grid.biDropout)", model: "nfm", lr: grid.figureLearningRate, earlyStop: false))
            runs.append(spec("without dropout", model: "nfm", bi: 0, lr: grid.figureLearningRate, earlyStop: false))
        case .fig5:
            title = "Figure 5: NFM-0 (k = \(k)) per-epoch train and validation RMSE with and without batch norm"
            runs.append(spec("with batch norm", model: "nfm", lr: grid.figureLearningRate, earlyStop: false))
            runs.append(spec("without batch norm", model: "nfm", batchNorm: false, lr: grid.figureLearningRate, earlyStop: false))
        case .fig6:
            title = "Figure 6: NFM-1 (k = \(k)) validation RMSE by activation and hidden-layer dropout ratio"
            for activation in ["identity", "sigmoid", "tanh", "relu"] {
                for d in grid.dropouts {
                    runs.append(
                        spec(
                            "\(activation) hidden dropout \(d)", series: activation, x: Double(d), model: "nfm", layers: [k],
                            activation: activation, hidden: d, lr: grid.figureLearningRate))
                }
            }
        case .fig7:
            title = "Figure 7: NFM-1 (k = \(k)) per-epoch train and validation RMSE with and without FM pre-training"
            runs.append(spec("FM (pre-training source)", model: "fm", batchNorm: false, lr: grid.figureLearningRate))
            runs.append(spec("NFM-1 from scratch", model: "nfm", layers: [k], lr: grid.figureLearningRate, earlyStop: false))
            runs.append(
                spec(
                    "NFM-1 with FM pre-training", model: "nfm", layers: [k], lr: grid.figureLearningRate, earlyStop: false,
                    pretrain: "FM (pre-training source)"))
        }
        self.runs = runs
    }
}
