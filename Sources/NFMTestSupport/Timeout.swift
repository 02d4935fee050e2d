import Foundation

#if canImport(Glibc)
    import Glibc
#endif

private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}

extension TestSupport {
    /// Runs `body` on its own thread and waits at most `seconds`; nil when it did not finish in time,
    /// after unblocking a reader stuck on the FIFO `fifo` by opening it for writing (so no test hangs).
    public static func finishes<T>(within seconds: Double, unblocking fifo: String, _ body: @escaping @Sendable () -> T) -> T? {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            box.value = body()
            done.signal()
        }
        if done.wait(timeout: .now() + seconds) == .timedOut {
            let writer = open(fifo, O_WRONLY | O_NONBLOCK)
            if writer >= 0 { close(writer) }
            _ = done.wait(timeout: .now() + 5)
            return nil
        }
        return box.value
    }
}
