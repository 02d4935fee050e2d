import Foundation

/// The one SVG line-chart writer of nfm (a run's `curve.svg`, an experiment's `figure.svg`): panels side
/// by side, each with a title, round 1-2-5 ticks (`AxisTicks`), axis labels, line series (solid or
/// dashed, with point markers when there are few points) and a legend below the plot.
///
/// Output is plain SVG 1.1 text, deterministic for the same input (coordinates printed to 0.1 px).
public struct SVGChart: Sendable {
    /// One line of a chart.
    public struct Series: Sendable {
        /// The series' name in the legend.
        public var name: String
        /// The points in drawing order; points with a non-finite y (or an x the axis cannot place) are left out.
        public var points: [(x: Double, y: Double)]
        /// Whether the line is drawn dashed (e.g. training curves beside solid validation curves).
        public var dashed: Bool
        /// Palette index; nil: the series' position.
        public var color: Int?

        /// A series drawn in `color`, or in the palette colour of its position when nil.
        public init(name: String, points: [(x: Double, y: Double)], dashed: Bool = false, color: Int? = nil) {
            self.name = name
            self.points = points
            self.dashed = dashed
            self.color = color
        }
    }

    /// How x values map to the horizontal axis.
    public enum XAxis: Sendable {
        /// Numeric, with 1-2-5 ticks; `integer` ticks only at whole numbers (epochs).
        case linear(integer: Bool)
        /// log₁₀ of positive values, ticks at powers of ten.
        case log
        /// Names at x = 0, 1, 2 …
        case categories([String])
    }

    /// The panel's title, above the plot.
    public var title: String
    /// The horizontal axis' label.
    public var xLabel: String
    /// The vertical axis' label.
    public var yLabel: String
    /// The lines of the panel, drawn in order.
    public var series: [Series]
    /// How x values map to the horizontal axis.
    public var xAxis: XAxis
    /// A point circled on the chart (e.g. the best epoch) and its palette index.
    public var highlight: (x: Double, y: Double, color: Int)?

    /// A panel; render one or more with `document(_:panelWidth:height:)`.
    public init(
        title: String, xLabel: String, yLabel: String, series: [Series], xAxis: XAxis = .linear(integer: false),
        highlight: (x: Double, y: Double, color: Int)? = nil
    ) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.xAxis = xAxis
        self.highlight = highlight
    }

    /// Colours by palette index (matplotlib's "tab10" order).
    public static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"]

    /// Renders `panels` side by side into one SVG document of `panelWidth × panels` by `height` pixels.
    public static func document(_ panels: [SVGChart], panelWidth: Double = 520, height: Double = 360) -> String {
        let width = panelWidth * Double(max(panels.count, 1))
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>

            """
        for (i, panel) in panels.enumerated() {
            svg += "<g transform=\"translate(\(Int(Double(i) * panelWidth)),0)\">\n"
            svg += panel.body(width: panelWidth, height: height)
            svg += "</g>\n"
        }
        return svg + "</svg>\n"
    }

    /// The plot's frame in panel coordinates.
    struct Frame {
        var left: Double, right: Double, top: Double, bottom: Double
        var width: Double { right - left }
        var height: Double { bottom - top }
    }

    /// Whether category labels are long enough to be drawn rotated.
    var rotatesCategories: Bool {
        if case .categories(let names) = xAxis { return names.count > 5 || names.contains { $0.count > 8 } }
        return false
    }

    func body(width: Double, height: Double) -> String {
        let points = series.flatMap(\.points).filter { $0.y.isFinite && x($0.x) != nil }
        guard !points.isEmpty else { return "<text x=\"20\" y=\"40\">\(Self.escape(title)): no data</text>\n" }
        let legendTop = height - 18 * Double((series.count + 2) / 3) - 6
        let frame = Frame(left: 64, right: width - 16, top: 36, bottom: legendTop - 46 - (rotatesCategories ? 64 : 0))
        let (y0, y1, yStep) = AxisTicks.niceRange(low: points.map(\.y).min()!, high: points.map(\.y).max()!)
        let (x0, x1) = xRange(points.compactMap { x($0.x) })
        func px(_ v: Double) -> Double { frame.left + (v - x0) / (x1 - x0) * frame.width }
        func py(_ v: Double) -> Double { frame.top + (y1 - v) / (y1 - y0) * frame.height }
        var out = "<text x=\"\(f(width / 2))\" y=\"20\" text-anchor=\"middle\" font-size=\"13\">\(Self.escape(title))</text>\n"
        out += yTicks(low: y0, high: y1, step: yStep, frame: frame, py: py)
        out += xTicks(low: x0, high: x1, frame: frame, px: px)
        out += "<rect x=\"\(f(frame.left))\" y=\"\(f(frame.top))\" width=\"\(f(frame.width))\" height=\"\(f(frame.height))\" fill=\"none\" stroke=\"#444\"/>\n"
        out += "<text x=\"\(f((frame.left + frame.right) / 2))\" y=\"\(f(frame.bottom + (rotatesCategories ? 100 : 36)))\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        out += "<text transform=\"translate(16,\(f((frame.top + frame.bottom) / 2))) rotate(-90)\" text-anchor=\"middle\">\(Self.escape(yLabel))</text>\n"
        for (i, s) in series.enumerated() { out += line(s, index: i, px: px, py: py) }
        if let h = highlight, h.y.isFinite, let hx = x(h.x) {
            out += "<circle cx=\"\(f(px(hx)))\" cy=\"\(f(py(h.y)))\" r=\"5\" fill=\"none\" stroke=\"\(Self.color(h.color))\" stroke-width=\"1.5\"/>\n"
        }
        out += legend(frame: frame, top: legendTop)
        return out
    }

    /// The axis coordinate of a data x (log₁₀ on a log axis); nil when it cannot be drawn.
    func x(_ value: Double) -> Double? {
        switch xAxis {
        case .log: value > 0 && value.isFinite ? log10(value) : nil
        case .linear, .categories: value.isFinite ? value : nil
        }
    }

    private func xRange(_ xs: [Double]) -> (Double, Double) {
        if case .categories(let names) = xAxis { return (-0.5, Double(max(names.count, 1)) - 0.5) }
        let low = xs.min()!, high = xs.max()!
        return high > low ? (low, high) : (low - 0.5, high + 0.5)
    }

    private func yTicks(low: Double, high: Double, step: Double, frame: Frame, py: (Double) -> Double) -> String {
        let decimals = AxisTicks.decimals(step)
        var out = ""
        for v in AxisTicks.multiples(of: step, low: low, high: high) {
            let y = f(py(v))
            out += "<line x1=\"\(f(frame.left))\" x2=\"\(f(frame.right))\" y1=\"\(y)\" y2=\"\(y)\" stroke=\"#e6e6e6\"/>"
            out += "<text x=\"\(f(frame.left - 6))\" y=\"\(f(py(v) + 4))\" text-anchor=\"end\">\(AxisTicks.label(v, decimals: decimals))</text>\n"
        }
        return out
    }

    private func xTicks(low: Double, high: Double, frame: Frame, px: (Double) -> Double) -> String {
        let labels: [(Double, String)]
        switch xAxis {
        case .linear(let integer):
            let ticks = AxisTicks.linear(low: low, high: high, target: 8, integer: integer)
            labels = ticks.values.map { ($0, AxisTicks.label($0, decimals: ticks.decimals)) }
        case .log:
            labels = AxisTicks.decades(low: pow(10, low), high: pow(10, high)).map { (Double($0), AxisTicks.decadeLabel($0)) }
        case .categories(let names):
            labels = names.enumerated().map { (Double($0.offset), $0.element) }
        }
        var out = ""
        for (v, text) in labels {
            let x = f(px(v))
            out += "<line x1=\"\(x)\" x2=\"\(x)\" y1=\"\(f(frame.bottom))\" y2=\"\(f(frame.bottom + 4))\" stroke=\"#444\"/>"
            if rotatesCategories {
                out += "<text transform=\"translate(\(x),\(f(frame.bottom + 14))) rotate(-35)\" text-anchor=\"end\">\(Self.escape(text))</text>\n"
            } else {
                out += "<text x=\"\(x)\" y=\"\(f(frame.bottom + 17))\" text-anchor=\"middle\">\(Self.escape(text))</text>\n"
            }
        }
        return out
    }

    private func line(_ s: Series, index: Int, px: (Double) -> Double, py: (Double) -> Double) -> String {
        let color = Self.color(s.color ?? index)
        let points = s.points.compactMap { p in x(p.x).flatMap { p.y.isFinite ? (px($0), py(p.y)) : nil } }
        let dash = s.dashed ? " stroke-dasharray=\"5,3\"" : ""
        var out = "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\"\(dash) points=\"\(points.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " "))\"/>\n"
        if points.count <= 20 {
            for p in points { out += "<circle cx=\"\(f(p.0))\" cy=\"\(f(p.1))\" r=\"2.5\" fill=\"\(color)\"/>\n" }
        }
        return out
    }

    private func legend(frame: Frame, top: Double) -> String {
        var out = ""
        for (i, s) in series.enumerated() {
            let color = Self.color(s.color ?? i)
            let y = top + 14 + Double(i / 3) * 18
            let x = frame.left + Double(i % 3) * (frame.width / 3)
            let dash = s.dashed ? " stroke-dasharray=\"5,3\"" : ""
            out += "<line x1=\"\(f(x))\" x2=\"\(f(x + 18))\" y1=\"\(f(y - 4))\" y2=\"\(f(y - 4))\" stroke=\"\(color)\" stroke-width=\"2\"\(dash)/>"
            out += "<text x=\"\(f(x + 22))\" y=\"\(f(y))\">\(Self.escape(s.name))</text>\n"
        }
        return out
    }

    static func color(_ index: Int) -> String { palette[((index % palette.count) + palette.count) % palette.count] }

    private func f(_ v: Double) -> String { String(format: "%.1f", v) }

    /// `text` with `&`, `<`, `>` and `"` escaped for SVG text and attributes.
    public static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
