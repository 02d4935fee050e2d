import Foundation

/// Runs numbered tasks on a fixed number of threads: the calling thread and `threads − 1` workers take
/// the next task number from a shared counter. Results come back by task number, so what a caller
/// builds from them never depends on the thread count or on which thread ran what.
enum ParallelTasks {
    /// `body(i)` for every `i` in `0..<count`, on up to `threads` threads; each task's value or error.
    static func map<T>(count: Int, threads: Int, _ body: (Int) throws -> T) -> [Result<T, any Error>] {
        withoutActuallyEscaping(body) { body in
            let box = ResultBox<T>(count: count)
            let work = UnsafeTransfer(body)
            let run: @Sendable () -> Void = {
                while let i = box.claim() {
                    let result = Result { try work.value(i) }
                    box.store(i, result)
                }
            }
            let helpers = min(max(threads, 1), count) - 1
            let group = DispatchGroup()
            for _ in 0..<max(helpers, 0) { DispatchQueue.global().async(group: group, execute: run) }
            run()
            group.wait()
            return box.results()
        }
    }

    /// `body(i)` for every `i` in `0..<count` on up to `threads` threads; throws the error of the lowest
    /// failed task number.
    static func forEach(count: Int, threads: Int, _ body: (Int) throws -> Void) throws {
        for result in map(count: count, threads: threads, body) { try result.get() }
    }
}

/// A value handed to other threads whose synchronisation the caller guarantees.
struct UnsafeTransfer<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// The task counter and the results of one `ParallelTasks.map`.
private final class ResultBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private let count: Int
    private var slots: [Result<T, any Error>?]

    init(count: Int) {
        self.count = count
        slots = Array(repeating: nil, count: count)
    }

    func claim() -> Int? {
        lock.withLock {
            guard next < count else { return nil }
            next += 1
            return next - 1
        }
    }

    func store(_ i: Int, _ result: Result<T, any Error>) { lock.withLock { slots[i] = result } }

    func results() -> [Result<T, any Error>] { lock.withLock { slots.map { $0! } } }
}
