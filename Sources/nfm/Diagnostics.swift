import ArgumentParser
import Foundation
import NFMFormat
import NFMPipeline

#if canImport(Glibc)
    import Glibc
#endif

/// Writing to standard error, and mapping module errors to exit codes.
enum Diagnostics {
    static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    static var stderrIsTerminal: Bool { isatty(2) != 0 }
}

/// The one mapper from errors to exit statuses: an ``NFMError`` prints `error: POSITION: message` and exits
/// with its code's status (the table on `NFMError`, reproduced in README.md); argument-parser errors and
/// exit codes pass through.
func runMapped(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as NFMError {
        Diagnostics.write("error: \(error)\n")
        throw ExitCode(error.code.exitCode)
    }
}

/// A one-line progress display on a terminal (`\r`-redrawn at most 4 times a second, with a rate);
/// silent when standard error is not a terminal or when disabled.
final class ProgressLine: @unchecked Sendable {
    private let enabled: Bool
    private var phase = ""
    private var started = Date()
    private var lastDraw = Date.distantPast
    private var drawn = false

    init(enabled: Bool) { self.enabled = enabled && Diagnostics.stderrIsTerminal }

    /// Shows `text` with the rate of `count` since `phase` began.
    func update(_ text: String, phase: String = "", count: Int) {
        guard enabled else { return }
        let now = Date()
        if phase != self.phase {
            self.phase = phase
            started = now
        }
        guard now.timeIntervalSince(lastDraw) >= 0.25 else { return }
        lastDraw = now
        let rate = Double(count) / max(now.timeIntervalSince(started), 1e-9)
        Diagnostics.write(String(format: "\r\u{1B}[K%@ (%.0f/s)", text, rate))
        drawn = true
    }

    func clear() {
        if drawn { Diagnostics.write("\r\u{1B}[K") }
        drawn = false
    }
}
