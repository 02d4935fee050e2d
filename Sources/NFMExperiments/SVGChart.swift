import Foundation

/// A small dependency-free SVG line chart: one panel per call, several panels side by side.
struct SVGChart {
    struct Series {
        var name: String
        var points: [(x: Double, y: Double)]
        var dashed = false
        /// Palette entry; nil: the series' position.
        var color: Int? = nil
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var series: [Series]
    var logX = false

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    /// Renders panels side by side into one SVG document.
    static func document(_ panels: [SVGChart], panelWidth: Double = 520, height: Double = 360) -> String {
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

    private func body(width: Double, height: Double) -> String {
        let (left, right, top, bottom) = (64.0, 16.0, 36.0, 70.0)
        let all = series.flatMap(\.points).filter { $0.y.isFinite && (!logX || $0.x > 0) }
        guard !all.isEmpty else { return "<text x=\"20\" y=\"40\">\(escape(title)): no data</text>\n" }
        func tx(_ x: Double) -> Double { logX ? log10(x) : x }
        let xs = all.map { tx($0.x) }
        let ys = all.map { $0.y }
        var x0 = xs.min()!
        var x1 = xs.max()!
        var y0 = ys.min()!
        var y1 = ys.max()!
        if x1 == x0 { x0 -= 1; x1 += 1 }
        let pad = max((y1 - y0) * 0.08, 1e-3)
        y0 -= pad
        y1 += pad
        func px(_ x: Double) -> Double { left + (tx(x) - x0) / (x1 - x0) * (width - left - right) }
        func py(_ y: Double) -> Double { top + (y1 - y) / (y1 - y0) * (height - top - bottom) }
        var out = "<text x=\"\(width / 2)\" y=\"18\" text-anchor=\"middle\" font-size=\"13\">\(escape(title))</text>\n"
        out += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(width - left - right)\" height=\"\(height - top - bottom)\" fill=\"none\" stroke=\"#444\"/>\n"
        for i in 0...4 {
            let y = y0 + (y1 - y0) * Double(i) / 4
            out += "<text x=\"\(left - 6)\" y=\"\(f(py(y) + 4))\" text-anchor=\"end\">\(String(format: "%.3f", y))</text>\n"
            out += "<line x1=\"\(left)\" x2=\"\(width - right)\" y1=\"\(f(py(y)))\" y2=\"\(f(py(y)))\" stroke=\"#eee\"/>\n"
            let xv = x0 + (x1 - x0) * Double(i) / 4
            let label = logX ? String(format: "1e%.1f", xv) : (abs(xv) >= 10 ? String(format: "%.0f", xv) : String(format: "%.2g", xv))
            let xp = left + (xv - x0) / (x1 - x0) * (width - left - right)
            out += "<text x=\"\(f(xp))\" y=\"\(height - bottom + 16)\" text-anchor=\"middle\">\(label)</text>\n"
        }
        out += "<text x=\"\((left + width - right) / 2)\" y=\"\(height - bottom + 34)\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        out += "<text transform=\"translate(16,\((top + height - bottom) / 2)) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        for (i, s) in series.enumerated() {
            let color = SVGChart.palette[(s.color ?? i) % SVGChart.palette.count]
            let points = s.points.filter { $0.y.isFinite && (!logX || $0.x > 0) }
            let path = points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            out += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\"\(s.dashed ? " stroke-dasharray=\"5,3\"" : "") points=\"\(path)\"/>\n"
            if points.count <= 20 {
                for p in points { out += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"2.5\" fill=\"\(color)\"/>\n" }
            }
            let ly = height - bottom + 50 + Double(i / 3) * 14
            let lx = left + Double(i % 3) * ((width - left - right) / 3)
            out += "<line x1=\"\(lx)\" x2=\"\(lx + 18)\" y1=\"\(ly - 4)\" y2=\"\(ly - 4)\" stroke=\"\(color)\" stroke-width=\"2\"\(s.dashed ? " stroke-dasharray=\"5,3\"" : "")/>\n"
            out += "<text x=\"\(lx + 22)\" y=\"\(ly)\">\(escape(s.name))</text>\n"
        }
        return out
    }

    private func f(_ v: Double) -> String { String(format: "%.1f", v) }
    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
