import Foundation
import NFMFormat

/// The progress line of `nfm train` on a terminal: the epoch's share of training rows, the rate and the
/// time left once there is elapsed time to measure them, then which split is being evaluated (so the
/// line never sits at a stale 99 % while the epoch is scored). Silent when standard error is not a
/// terminal, or with `--quiet`.
final class TrainingProgress: @unchecked Sendable {
    private let enabled: Bool
    private var lastDraw = Date.distantPast
    private var drawn = false

    init(enabled: Bool) { self.enabled = enabled && Diagnostics.stderrIsTerminal }

    /// `done` of `total` training rows after `seconds` of epoch `epoch` (redrawn at most 4 times a second).
    func training(epoch: Int, done: Int, total: Int, seconds: Double) {
        guard enabled, Date().timeIntervalSince(lastDraw) >= 0.25 else { return }
        draw(Self.trainingText(epoch: epoch, done: done, total: total, seconds: seconds))
    }

    /// The line for `training`: no rate or ETA before a quarter of a second has elapsed.
    static func trainingText(epoch: Int, done: Int, total: Int, seconds: Double) -> String {
        let percent = total > 0 ? 100 * done / total : 0
        var text = "epoch \(epoch): training \(percent)% (\(done)/\(total) rows)"
        if seconds >= 0.25 && done > 0 {
            let rate = Double(done) / seconds
            text += String(format: ", %.0f rows/s, ETA %.1f s", rate, Double(max(total - done, 0)) / rate)
        }
        return text
    }

    /// Epoch `epoch` is scoring `split`.
    func evaluating(epoch: Int, split: Split) {
        guard enabled else { return }
        draw("epoch \(epoch): evaluating the \(split.rawValue) split")
    }

    private func draw(_ text: String) {
        lastDraw = Date()
        Diagnostics.write("\r\u{1B}[K" + text)
        drawn = true
    }

    /// Erases the line (before a permanent line is printed).
    func clear() {
        if drawn { Diagnostics.write("\r\u{1B}[K") }
        drawn = false
    }
}
