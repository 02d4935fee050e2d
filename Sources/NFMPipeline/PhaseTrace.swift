import Foundation

/// Wall time of a build's phases on standard error when the environment sets `NFM_BUILD_TRACE` (a
/// diagnostic for profiling; never part of any output file). Each `mark` prints the seconds since the
/// previous one and since the start.
final class PhaseTrace {
    private let enabled = ProcessInfo.processInfo.environment["NFM_BUILD_TRACE"] != nil
    private let start = DispatchTime.now().uptimeNanoseconds
    private var last = DispatchTime.now().uptimeNanoseconds

    private var usage = PhaseTrace.usage()

    /// Prints the phase `name` that just ended: its wall time, and the processor time (user + system) and
    /// minor page faults of the whole process in it.
    func mark(_ name: String) {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        let total = PhaseTrace.usage()
        let text = String(
            format: "%@ %.3f s (at %.3f s; cpu %.3f s, %d faults)\n", name, Double(now - last) / 1e9,
            Double(now - start) / 1e9, total.cpu - usage.cpu, total.faults - usage.faults)
        FileHandle.standardError.write(Data(text.utf8))
        (last, usage) = (now, total)
    }

    /// Processor seconds and minor page faults of the process so far (`getrusage`).
    private static func usage() -> (cpu: Double, faults: Int) {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let seconds = { (t: timeval) in Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return (seconds(usage.ru_utime) + seconds(usage.ru_stime), usage.ru_minflt)
    }
}
