import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Removes partial outputs when the process is interrupted (SIGINT) or terminated (SIGTERM).
///
/// Outputs register while they are being written and unregister once complete. On the first SIGINT or
/// SIGTERM every registered path is removed — a directory is first renamed aside, so that the process
/// cannot recreate files under its name meanwhile — and the process exits with 128 + the signal number
/// (130, 143). The handlers are installed on first registration; signals are received through Dispatch, so
/// the cleanup runs on an ordinary thread, not in a signal handler.
public final class SignalCleanup: @unchecked Sendable {
    /// The process-wide registry.
    public static let shared = SignalCleanup()

    private let lock = NSLock()
    private var paths: [Int: String] = [:]
    private var nextToken = 0
    private var sources: [DispatchSourceSignal] = []
    private let queue = DispatchQueue(label: "nfm.signal-cleanup")

    /// Registers `path` (a file or a directory) for removal on a signal; returns a token for ``unregister(_:)``.
    public func register(_ path: String) -> Int {
        lock.lock()
        defer { lock.unlock() }
        installHandlersIfNeeded()
        nextToken += 1
        paths[nextToken] = path
        return nextToken
    }

    /// Stops removing the path registered under `token`.
    public func unregister(_ token: Int) {
        lock.lock()
        paths[token] = nil
        lock.unlock()
    }

    private func installHandlersIfNeeded() {
        guard sources.isEmpty else { return }
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [unowned self] in self.cleanUpAndExit(signal: number) }
            source.resume()
            sources.append(source)
        }
    }

    private func cleanUpAndExit(signal number: Int32) {
        lock.lock()
        let doomed = Array(paths.values)
        paths.removeAll()
        lock.unlock()
        for path in doomed { Self.remove(path) }
        let name = number == SIGINT ? "interrupted" : "terminated"
        FileHandle.standardError.write(Data("\nnfm: \(name); partial output removed\n".utf8))
        _exit(128 + number)
    }

    private static func remove(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            let aside = path + ".nfm-removing-\(getpid())"
            if Glibc.rename(path, aside) == 0 {
                FileSystem.remove(aside)
                return
            }
        }
        FileSystem.remove(path)
    }
}
