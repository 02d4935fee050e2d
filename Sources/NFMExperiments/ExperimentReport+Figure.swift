import NFMModel

extension ExperimentReport {
    /// The experiment's figure (`figure.svg`), drawn with the one chart writer (`SVGChart`): for the
    /// tables, best validation and test RMSE by model (x axis: the table's rows) and the best runs'
    /// validation curves; for the sweeps (fig3, fig6), RMSE against the swept value; for the per-epoch
    /// figures (fig4, fig5, fig7), every run's train (dashed) and validation RMSE per epoch.
    public func svg() -> String {
        switch experiment.kind {
        case .table2, .table3: tableFigure()
        case .fig3: sweepFigure()
        case .fig6: activationFigure()
        case .fig4, .fig5, .fig7: curvesFigure()
        }
    }

    private func tableFigure() -> String {
        let best = groupBest
        let isTable2 = experiment.kind == .table2
        let rows = SVGChart(
            title: isTable2 ? "Best validation and test RMSE by depth (k = \(grid.factors))" : "Best validation and test RMSE by method",
            xLabel: isTable2 ? "model (hidden layers)" : "model", yLabel: "RMSE",
            series: [
                .init(name: "validation", points: best.enumerated().map { (Double($0.offset), $0.element.result.bestValidation) }),
                .init(name: "test", points: best.enumerated().map { (Double($0.offset), $0.element.result.bestTest) }),
            ],
            xAxis: .categories(best.map(\.group)))
        let curves = SVGChart(
            title: "Validation RMSE per epoch (best learning rate of each \(isTable2 ? "depth" : "model"))", xLabel: "epoch",
            yLabel: "validation RMSE",
            series: best.map { group, result in
                .init(name: group, points: result.records.map { (Double($0.epoch), $0.validation.primary) })
            },
            xAxis: .linear(integer: true))
        return SVGChart.document([rows, curves], panelWidth: isTable2 ? 520 : 640, height: isTable2 ? 380 : 560)
    }

    private func sweepFigure() -> String {
        let dropout = results.filter { $0.spec.series == "dropout" }
        let l2 = results.filter { $0.spec.series == "L2" }
        func series(_ runs: [RunResult]) -> [SVGChart.Series] {
            [
                .init(name: "validation", points: runs.map { ($0.spec.x ?? 0, $0.bestValidation) }),
                .init(name: "train", points: runs.map { ($0.spec.x ?? 0, $0.best.train.primary) }, dashed: true),
            ]
        }
        return SVGChart.document([
            SVGChart(
                title: "NFM-0: RMSE by dropout ratio (no L2)", xLabel: "dropout ratio on the Bi-Interaction layer", yLabel: "RMSE",
                series: series(dropout)),
            SVGChart(title: "NFM-0: RMSE by L2 λ (no dropout)", xLabel: "L2 λ (log scale)", yLabel: "RMSE", series: series(l2), xAxis: .log),
        ])
    }

    private func activationFigure() -> String {
        var names: [String] = []
        for result in results where !names.contains(result.spec.series) { names.append(result.spec.series) }
        return SVGChart.document([
            SVGChart(
                title: "NFM-1: validation RMSE by hidden-layer dropout ratio, per activation", xLabel: "hidden-layer dropout ratio",
                yLabel: "validation RMSE",
                series: names.map { name in
                    .init(name: name, points: results.filter { $0.spec.series == name }.map { ($0.spec.x ?? 0, $0.bestValidation) })
                })
        ], panelWidth: 640, height: 400)
    }

    private func curvesFigure() -> String {
        var series: [SVGChart.Series] = []
        for (i, result) in results.enumerated() {
            series.append(
                .init(name: "\(result.spec.name): validation", points: result.records.map { (Double($0.epoch), $0.validation.primary) }, color: i))
            series.append(
                .init(name: "\(result.spec.name): train", points: result.records.map { (Double($0.epoch), $0.train.primary) }, dashed: true, color: i))
        }
        let chart = SVGChart(
            title: experiment.title, xLabel: "epoch", yLabel: "RMSE (solid: validation, dashed: train)", series: series,
            xAxis: .linear(integer: true))
        return SVGChart.document([chart], panelWidth: 900, height: 460)
    }
}
