import Foundation
#if canImport(FoundationXML)
    import FoundationXML
#endif
import Testing

@testable import NFMModel

/// The one chart writer: round ticks, titles, well-formed SVG.
@Suite struct ChartTests {
    @Test func stepsAreOneTwoOrFiveTimesAPowerOfTen() {
        #expect(AxisTicks.step(span: 0.0713, target: 6) == 0.02)
        #expect(AxisTicks.step(span: 1, target: 5) == 0.2)
        #expect(AxisTicks.step(span: 9, target: 8) == 2)
        #expect(AxisTicks.step(span: 199, target: 8) == 50)
        #expect(AxisTicks.step(span: 0.3, target: 8, integer: true) == 1)
        for span in [0.000123, 0.0713, 0.9, 3.7, 11, 199, 12345.0] {
            let step = AxisTicks.step(span: span, target: 6)
            let mantissa = step / pow(10, floor(log10(step)))
            #expect([1, 2, 5].contains { abs(mantissa - Double($0)) < 1e-9 }, "\(span) → \(step)")
        }
    }

    @Test func tickLabelsAreRound() {
        let ticks = AxisTicks.linear(low: 0.5713, high: 0.6641)
        #expect(ticks.values.map { AxisTicks.label($0, decimals: ticks.decimals) } == ["0.58", "0.60", "0.62", "0.64", "0.66"])
        let epochs = AxisTicks.linear(low: 1, high: 9, target: 8, integer: true)
        #expect(epochs.values.allSatisfy { $0 == $0.rounded() })
        let range = AxisTicks.niceRange(low: 0.5713, high: 0.6641)
        #expect(range.low <= 0.5713 && range.high >= 0.6641)
        #expect(abs(range.low / range.step - (range.low / range.step).rounded()) < 1e-9)
        #expect(AxisTicks.label(-0.0000001, decimals: 2) == "0.00")
        #expect(AxisTicks.decades(low: 1e-6, high: 0.1) == [-6, -5, -4, -3, -2, -1])
        #expect((-6...(-1)).map(AxisTicks.decadeLabel) == ["1e-6", "1e-5", "1e-4", "0.001", "0.01", "0.1"])
    }

    func records(_ count: Int) -> [EpochRecord] {
        (1...count).map { e in
            let v = 0.6 - 0.01 * Double(e) + (e == 5 ? 0.0 : 0.001)
            return EpochRecord(
                epoch: e, trainLoss: 0.3, train: SplitMetrics(rmse: v - 0.1), validation: SplitMetrics(rmse: v),
                test: SplitMetrics(rmse: v + 0.01), trainSeconds: 1, evalSeconds: 0.1)
        }
    }

    /// The text of every `<text>` element.
    func labels(_ svg: String) -> [String] {
        svg.components(separatedBy: "<text").dropFirst().compactMap { part in
            guard let start = part.firstIndex(of: ">"), let end = part.range(of: "</text>") else { return nil }
            return String(part[part.index(after: start)..<end.lowerBound])
        }
    }

    @Test func theLearningCurveHasWholeEpochsRoundValuesAndSaysWhatItShows() throws {
        let svg = Reports.svg(records: records(9), loss: .squared, title: "NFM-0 k=8 on frappe")
        #expect(XMLParser(data: Data(svg.utf8)).parse())
        let texts = labels(svg)
        #expect(texts.first == "NFM-0 k=8 on frappe: RMSE per epoch")
        let numbers = texts.compactMap(Double.init)
        #expect(!numbers.isEmpty)
        for text in texts where Double(text) != nil {
            // At most two decimals on this range; whole epochs.
            #expect(!text.contains(".") || text.split(separator: ".")[1].count <= 2, "\(text)")
        }
        #expect(!texts.contains("4.5"))
    }

    @Test func categoriesAndLogAxesLabelTheirTicks() {
        let table = SVGChart(
            title: "t", xLabel: "model", yLabel: "RMSE", series: [.init(name: "test", points: [(0, 0.35), (1, 0.31), (2, 0.32)])],
            xAxis: .categories(["NFM-0", "NFM-1", "NFM-2"]))
        let texts = labels(SVGChart.document([table]))
        #expect(texts.contains("NFM-0") && texts.contains("NFM-2"))
        #expect(!texts.contains("0.5") && !texts.contains("1.5"))
        let sweep = SVGChart(
            title: "t", xLabel: "λ", yLabel: "RMSE", series: [.init(name: "v", points: [(1e-6, 0.4), (2e-5, 0.41), (0.1, 0.39)])],
            xAxis: .log)
        let logTexts = labels(SVGChart.document([sweep]))
        #expect(logTexts.contains("1e-6") && logTexts.contains("0.1"))
        #expect(!logTexts.contains { $0.hasPrefix("1e") && $0.contains(".") })
    }
}
