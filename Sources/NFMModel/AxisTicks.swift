import Foundation

/// Round tick values for chart axes: steps of 1, 2 or 5 times a power of ten, so that labels read 0.55,
/// 0.60, 0.65 or 2, 4, 6 epochs rather than 0.5713 or 4.5 epochs; logarithmic axes tick at powers of ten.
public enum AxisTicks {
    /// The smallest step `m·10ᵉ` (m ∈ {1, 2, 5}) that cuts `span` into at most `target` intervals;
    /// with `integer`, at least 1.
    public static func step(span: Double, target: Int, integer: Bool = false) -> Double {
        guard span > 0, span.isFinite, target > 0 else { return 1 }
        let raw = span / Double(target)
        let power = pow(10, floor(log10(raw)))
        var best = 10 * power
        for m in [1.0, 2.0, 5.0] where m * power >= raw * (1 - 1e-9) {
            best = m * power
            break
        }
        return integer ? max(1, best.rounded()) : best
    }

    /// A linear axis: the tick values (multiples of a 1-2-5 step) within `low…high`, and the decimals that
    /// print them exactly.
    public static func linear(low: Double, high: Double, target: Int = 6, integer: Bool = false)
        -> (values: [Double], step: Double, decimals: Int)
    {
        let step = step(span: high - low, target: target, integer: integer)
        return (multiples(of: step, low: low, high: high), step, decimals(step))
    }

    /// The multiples of `step` within `low…high` (at most 100).
    public static func multiples(of step: Double, low: Double, high: Double) -> [Double] {
        var values: [Double] = []
        var k = (low / step - 1e-9).rounded(.up)
        while k * step <= high + step * 1e-9, values.count < 100 {
            values.append(k * step)
            k += 1
        }
        return values
    }

    /// `low…high` padded by 5 % and widened outwards to multiples of a 1-2-5 step (at most about `target`
    /// intervals), with that step; a zero span is widened around its value first.
    public static func niceRange(low: Double, high: Double, target: Int = 6) -> (low: Double, high: Double, step: Double) {
        var low = low, high = high
        if !(high - low > 1e-12) {
            let half = max(abs(low) * 0.05, 1e-3)
            low -= half
            high += half
        }
        let pad = (high - low) * 0.05
        let step = step(span: high - low + 2 * pad, target: target)
        return (((low - pad) / step).rounded(.down) * step, ((high + pad) / step).rounded(.up) * step, step)
    }

    /// Decimals needed to print multiples of `step` exactly (0 for steps ≥ 1).
    public static func decimals(_ step: Double) -> Int { max(0, Int(-floor(log10(step) + 1e-9))) }

    /// `value` with `decimals` decimals, never "-0".
    public static func label(_ value: Double, decimals: Int) -> String {
        let text = String(format: "%.\(decimals)f", value)
        return Double(text) == 0 ? String(format: "%.\(decimals)f", 0.0) : text
    }

    /// The powers of ten within `low…high` (both > 0), as exponents; every second one when there are
    /// more than `target`.
    public static func decades(low: Double, high: Double, target: Int = 7) -> [Int] {
        guard low > 0, high >= low else { return [] }
        let first = Int(ceil(log10(low) - 1e-9)), last = Int(floor(log10(high) + 1e-9))
        guard first <= last else { return [] }
        let all = Array(first...last)
        return all.count <= target ? all : all.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
    }

    /// A power of ten as a label: plain for 10⁻³…10⁴ ("0.001", "100"), else "1e-6".
    public static func decadeLabel(_ exponent: Int) -> String {
        if exponent >= 0 && exponent <= 4 { return String(Int(pow(10, Double(exponent)))) }
        if exponent < 0 && exponent >= -3 { return label(pow(10, Double(exponent)), decimals: -exponent) }
        return "1e\(exponent)"
    }
}
