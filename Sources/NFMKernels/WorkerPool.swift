import Foundation
import Synchronization

/// A small persistent pool of threads that runs the tasks `0..<count` of one job at a time, the caller
/// taking part. Threads only choose which task they run, so a job whose tasks write disjoint outputs
/// gives the same bytes for every thread count.
///
/// Workers are created once (`threads − 1` of them) and live as long as the pool. A task is claimed by a
/// compare-and-swap on one word holding the job's generation and next task, so a worker that wakes late
/// can never claim a task of a job other than the one it read; the caller returns once every task has
/// run (a worker that was not scheduled in time simply takes no task). Between jobs a worker spins
/// briefly, then yields, then sleeps on a condition variable. With one thread every job runs inline.
public final class WorkerPool: @unchecked Sendable {
    /// Threads that run a job's tasks, the caller included (1…).
    public let threads: Int
    /// Jobs estimated below this many operations are meant to run on the calling thread (callers such as
    /// the model's `forEachBlock` consult it; waking the workers costs more than such jobs).
    public let minimumParallelCost: Int
    private let state: PoolState

    /// A pool running jobs on `threads` threads (at least 1): the caller and `threads − 1` workers.
    public init(threads: Int, minimumParallelCost: Int = 16_000) {
        self.threads = max(1, threads)
        self.minimumParallelCost = minimumParallelCost
        state = PoolState()
        for index in 1..<self.threads {
            let state = state
            let thread = Thread { state.workerLoop() }
            thread.name = "nfm-worker-\(index)"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    deinit { state.stop() }

    /// Runs `body(i)` for every `i` in `0..<count` on the pool's threads and returns when all have run.
    /// Tasks must write disjoint memory; their order of execution is unspecified. Not reentrant: one job
    /// at a time, from one caller.
    public func run(_ count: Int, _ body: (Int) -> Void) {
        if threads == 1 || count <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { escaping in
            var job = escaping
            withUnsafePointer(to: &job) { state.run(count, body: $0) }
        }
    }

    /// Splits `0..<total` into consecutive ranges of `grain` elements (the last may be shorter) and runs
    /// `body` on each. The ranges depend only on `total` and `grain`, never on the thread count.
    public func forEachRange(_ total: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        let grain = max(1, grain)
        run((total + grain - 1) / grain) { i in body((i * grain)..<min(total, (i + 1) * grain)) }
    }
}

/// The pool's shared state, owned by the pool and its workers (so that workers never outlive it).
///
/// `word` = generation << 32 | next task. Job `g`'s count and body pointer live in slot `g % 2`; the
/// caller writes slot `(g + 1) % 2` only while the generation is `g`, so a worker that read slot `g % 2`
/// and then claims with a successful compare-and-swap on `(g, i)` read a stable slot.
private final class PoolState: @unchecked Sendable {
    let word = Atomic<UInt64>(0)
    let finished = Atomic<Int>(0)
    let sleepers = Atomic<Int>(0)
    let stopping = Atomic<Bool>(false)
    let condition = NSCondition()
    let counts = UnsafeMutablePointer<Int>.allocate(capacity: 2)
    let bodies = UnsafeMutablePointer<UnsafeRawPointer?>.allocate(capacity: 2)

    init() {
        counts.initialize(repeating: 0, count: 2)
        bodies.initialize(repeating: nil, count: 2)
    }

    deinit {
        counts.deallocate()
        bodies.deallocate()
    }

    func run(_ count: Int, body: UnsafePointer<(Int) -> Void>) {
        let generation = (word.load(ordering: .relaxed) >> 32) + 1
        let slot = Int(generation & 1)
        counts[slot] = count
        bodies[slot] = UnsafeRawPointer(body)
        finished.store(0, ordering: .relaxed)
        word.store(generation << 32, ordering: .sequentiallyConsistent)
        wakeSleepers()
        let done = work(generation: generation, count: count, body: body)
        if done > 0 { finished.add(done, ordering: .relaxed) }
        var spins = 0
        while finished.load(ordering: .acquiring) < count {
            spins += 1
            if spins > 200 { sched_yield() }
        }
    }

    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        word.add(1 << 32, ordering: .sequentiallyConsistent)
        wakeSleepers()
    }

    private func wakeSleepers() {
        guard sleepers.load(ordering: .sequentiallyConsistent) > 0 else { return }
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    /// Claims and runs tasks of job `generation` until none is left or the job changed; returns how many.
    private func work(generation: UInt64, count: Int, body: UnsafePointer<(Int) -> Void>) -> Int {
        var done = 0
        var current = word.load(ordering: .acquiring)
        while current >> 32 == generation {
            let i = Int(current & 0xFFFF_FFFF)
            guard i < count else { break }
            let (exchanged, original) = word.compareExchange(
                expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged {
                body.pointee(i)
                done += 1
                current = current + 1
            } else {
                current = original
            }
        }
        return done
    }

    func workerLoop() {
        var seen: UInt64 = 0
        while true {
            let current = waitForJob(after: seen)
            seen = current >> 32
            if stopping.load(ordering: .acquiring) { return }
            let slot = Int(seen & 1)
            let (count, raw) = (counts[slot], bodies[slot])
            guard let raw, Int(current & 0xFFFF_FFFF) < count else { continue }
            let done = work(generation: seen, count: count, body: raw.assumingMemoryBound(to: ((Int) -> Void).self))
            if done > 0 { finished.add(done, ordering: .releasing) }
        }
    }

    /// Spins, then yields, then sleeps until the generation differs from `seen`; returns the word.
    private func waitForJob(after seen: UInt64) -> UInt64 {
        var spins = 0
        while true {
            let current = word.load(ordering: .acquiring)
            if current >> 32 != seen { return current }
            spins += 1
            if spins < 20_000 { continue }
            if spins < 20_100 { sched_yield(); continue }
            condition.lock()
            sleepers.add(1, ordering: .sequentiallyConsistent)
            while word.load(ordering: .sequentiallyConsistent) >> 32 == seen { condition.wait() }
            sleepers.subtract(1, ordering: .sequentiallyConsistent)
            condition.unlock()
        }
    }
}
