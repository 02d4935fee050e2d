import Foundation

/// Wall time of a build's phases on standard error when the environment sets `NFM_BUILD_TRACE` (a
/// diagnostic for profiling; never part of any output file). Each `mark` prints the seconds since the
/// previous one and since the start.
final class PhaseTrace {
    private let enabled = ProcessInfo.processInfo.environment["NFM_BUILD_TRACE"] != nil
    private let start = DispatchTime.now().uptimeNanoseconds
    private var last = DispatchTime.now().uptimeNanoseconds

    /// Prints the phase `name` that just ended.
    func mark(_ name: String) {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        let text = String(format: "%@ %.3f s (at %.3f s)\n", name, Double(now - last) / 1e9, Double(now - start) / 1e9)
        FileHandle.standardError.write(Data(text.utf8))
        last = now
    }
}
