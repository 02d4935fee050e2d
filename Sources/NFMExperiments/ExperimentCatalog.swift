/// The runs of each experiment of the paper (He & Chua 2017) over a grid, and their titles. A run's id is
/// the hash of its spec, so these specs must not change for an experiment to resume.
struct ExperimentCatalog {
    let grid: ExperimentGrid

    /// A run with the grid's shared settings (k, dropout, epochs, patience, batch, seed) unless given.
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

    static func title(of kind: Experiment.Kind, grid: ExperimentGrid) -> String {
        let k = grid.factors
        switch kind {
        case .table2: return "Table 2: NFM with 0–4 hidden layers (k = \(k)), test RMSE at the best validation epoch"
        case .table3:
            return "Table 3: all methods at k = \(grid.tableFactors.map(String.init).joined(separator: ", ")), test RMSE and parameters"
        case .fig3:
            return "Figure 3: NFM-0 (k = \(k)) train and validation RMSE against the dropout ratio (no L2) and against L2 λ (no dropout)"
        case .fig4: return "Figure 4: NFM-0 (k = \(k)) per-epoch train and validation RMSE with and without dropout"
        case .fig5: return "Figure 5: NFM-0 (k = \(k)) per-epoch train and validation RMSE with and without batch norm"
        case .fig6: return "Figure 6: NFM-1 (k = \(k)) validation RMSE by activation and hidden-layer dropout ratio"
        case .fig7: return "Figure 7: NFM-1 (k = \(k)) per-epoch train and validation RMSE with and without FM pre-training"
        }
    }

    func runs(of kind: Experiment.Kind) -> [RunSpec] {
        switch kind {
        case .table2: table2()
        case .table3: table3()
        case .fig3: fig3()
        case .fig4, .fig5: fig4and5(kind)
        case .fig6: fig6()
        case .fig7: fig7()
        }
    }

    func table2() -> [RunSpec] {
        (0...4).flatMap { depth in
            grid.learningRates.map { lr in
                spec("NFM-\(depth) lr=\(lr)", group: "NFM-\(depth)", model: "nfm", layers: Array(repeating: grid.factors, count: depth), lr: lr)
            }
        }
    }

    func table3() -> [RunSpec] {
        var runs = grid.learningRates.map { lr in
            spec("LR lr=\(lr)", group: "LR", model: "lr", factors: 0, bi: 0, batchNorm: false, lr: lr)
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
        return runs
    }

    func fig3() -> [RunSpec] {
        grid.dropouts.map { d in
            spec("dropout \(d)", series: "dropout", x: Double(d), model: "nfm", bi: d, lr: grid.figureLearningRate)
        }
            + grid.l2s.map { l2 in
                spec("L2 \(l2)", series: "L2", x: Double(l2), model: "nfm", bi: 0, lr: grid.figureLearningRate, l2: l2)
            }
    }

    func fig4and5(_ kind: Experiment.Kind) -> [RunSpec] {
        if kind == .fig4 {
            return [
                spec("with dropout \(grid.biDropout)", model: "nfm", lr: grid.figureLearningRate, earlyStop: false),
                spec("without dropout", model: "nfm", bi: 0, lr: grid.figureLearningRate, earlyStop: false),
            ]
        }
        return [
            spec("with batch norm", model: "nfm", lr: grid.figureLearningRate, earlyStop: false),
            spec("without batch norm", model: "nfm", batchNorm: false, lr: grid.figureLearningRate, earlyStop: false),
        ]
    }

    func fig6() -> [RunSpec] {
        ["identity", "sigmoid", "tanh", "relu"].flatMap { activation in
            grid.dropouts.map { d in
                spec(
                    "\(activation) hidden dropout \(d)", series: activation, x: Double(d), model: "nfm", layers: [grid.factors],
                    activation: activation, hidden: d, lr: grid.figureLearningRate)
            }
        }
    }

    func fig7() -> [RunSpec] {
        let k = grid.factors
        return [
            spec("FM (pre-training source)", model: "fm", batchNorm: false, lr: grid.figureLearningRate),
            spec("NFM-1 from scratch", model: "nfm", layers: [k], lr: grid.figureLearningRate, earlyStop: false),
            spec(
                "NFM-1 with FM pre-training", model: "nfm", layers: [k], lr: grid.figureLearningRate, earlyStop: false,
                pretrain: "FM (pre-training source)"),
        ]
    }
}
