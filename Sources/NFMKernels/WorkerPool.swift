import Foundation
import Synchronization

/// A small persistent pool of threads that runs the tasks `0..<count` of one job at a time, the caller
/// taking part. Threads only choose which task they run, so a job whose tasks write disjoint outputs
/// gives the same bytes for every thread count.
///
/// Workers are created once (`threads − 1` of them) and live as long as the pool. Thread `t` of `T`
/// first runs the tasks of its own share `[t·count/T, (t+1)·count/T)` — so that consecutive jobs over the
/// same rows keep each block's data in the same core's cache — then, once the others have started (or
/// after 3 µs), takes what they left, from the end backwards. A task is
/// claimed by a compare-and-swap of its claim word to the job's generation, and a worker re-checks the
/// generation before running what it claimed, so a worker that wakes late never runs a task of another
/// job; the caller returns once every task has run. Between jobs a worker spins briefly (yielding), then
/// sleeps on a condition variable. With one thread every job runs inline.
public final class WorkerPool: @unchecked Sendable {
    /// Threads that run a job's tasks, the caller included (1…).
    public let threads: Int
    /// Jobs estimated below this many operations are meant to run on the calling thread (callers such as
    /// the model's `forEachBlock` consult it; waking the workers costs more than such jobs).
    public let minimumParallelCost: Int
    private let state: PoolState
    /// The counters of `runTeam` jobs.
    let team: TeamState
    /// When true, `run` executes every task in order on the calling thread (the workers stay idle). Set by
    /// the caller between jobs only (never while a job runs); results are the same bits either way, since
    /// a job's tasks write disjoint outputs.
    public var runsInline = false

    /// A pool running jobs on `threads` threads (at least 1): the caller and `threads − 1` workers.
    public init(threads: Int, minimumParallelCost: Int = 100_000) {
        self.threads = max(1, threads)
        self.minimumParallelCost = minimumParallelCost
        state = PoolState(threads: self.threads)
        team = TeamState(threads: self.threads)
        for index in 1..<self.threads {
            let state = state
            let thread = Thread { state.workerLoop(index: index) }
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
        if threads == 1 || count <= 1 || runsInline {
            for i in 0..<count { body(i) }
            return
        }
        if count > PoolState.maxTasks {
            // More tasks than claim words: run them in `maxTasks` groups of consecutive tasks.
            let groups = PoolState.maxTasks
            run(groups) { g in
                for i in (count * g / groups)..<(count * (g + 1) / groups) { body(i) }
            }
            return
        }
        withoutActuallyEscaping(body) { escaping in
            var job = escaping
            withUnsafePointer(to: &job) { state.run(count, pinned: false, body: $0) }
        }
    }

    /// Runs `body(t)` once on each thread `t` of the pool (`0..<threads`, the caller being thread 0) at the
    /// same time, and returns when all have returned: a job for code that synchronises its threads itself
    /// (`TeamMember`). No thread runs another's index, so a body may wait for another thread's progress.
    func runPinned(_ body: (Int) -> Void) {
        if threads == 1 { return body(0) }
        withoutActuallyEscaping(body) { escaping in
            var job = escaping
            withUnsafePointer(to: &job) { state.run(threads, pinned: true, body: $0) }
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
/// Job `g` (generations count from 1) keeps its task count and body pointer in slot `g % 2`; the caller
/// writes slot `(g + 1) % 2` only while the generation is `g`. Task `i` is claimed by a compare-and-swap
/// of `claims[i]` from a value below `g` to `g`; a worker that claimed then checks that the generation is
/// still `g` — it was `g` from before it read the slot until then, so what it read was job `g`'s — and
/// otherwise drops the task (job `g` is over, so the task was one it did not have).
private final class PoolState: @unchecked Sendable {
    static let maxTasks = 1024
    let threads: Int
    /// The job counters, one per cache line, so that the caller's and the workers' writes never share one.
    private let words: PaddedAtomics
    /// The current job's generation (written by the caller, watched by the workers).
    var generation: UnsafeMutablePointer<Atomic<UInt64>> { words[0] }
    /// Tasks of the current job that have run (added to by every thread, watched by the caller).
    var finished: UnsafeMutablePointer<Atomic<UInt64>> { words[1] }
    /// Workers asleep on `condition`.
    var sleepers: UnsafeMutablePointer<Atomic<UInt64>> { words[2] }
    var stopping: UnsafeMutablePointer<Atomic<UInt64>> { words[3] }
    /// `claims(i)`: the generation of the job that claimed task `i`.
    func claims(_ i: Int) -> UnsafeMutablePointer<Atomic<UInt64>> { words[4 + i] }
    let condition = NSCondition()
    let counts = UnsafeMutablePointer<Int>.allocate(capacity: 2)
    /// Whether job slot `g % 2` is pinned (each thread runs its own task only).
    let pinned = UnsafeMutablePointer<Bool>.allocate(capacity: 2)
    let bodies = UnsafeMutablePointer<UnsafeRawPointer?>.allocate(capacity: 2)

    init(threads: Int) {
        self.threads = threads
        words = PaddedAtomics(count: 4 + Self.maxTasks)
        counts.initialize(repeating: 0, count: 2)
        pinned.initialize(repeating: false, count: 2)
        bodies.initialize(repeating: nil, count: 2)
    }

    deinit {
        counts.deallocate()
        pinned.deallocate()
        bodies.deallocate()
        words.deallocate()
    }

    func run(_ count: Int, pinned isPinned: Bool, body: UnsafePointer<(Int) -> Void>) {
        let job = generation.pointee.load(ordering: .relaxed) + 1
        let slot = Int(job & 1)
        counts[slot] = count
        pinned[slot] = isPinned
        bodies[slot] = UnsafeRawPointer(body)
        finished.pointee.store(0, ordering: .relaxed)
        generation.pointee.store(job, ordering: .sequentiallyConsistent)
        wakeSleepers()
        let done = work(job: job, index: 0, count: count, pinned: isPinned, body: body)
        if done > 0 { finished.pointee.add(UInt64(done), ordering: .relaxed) }
        var spins = 0
        var deadline: UInt64 = 0
        while finished.pointee.load(ordering: .acquiring) < UInt64(count) {
            spins += 1
            if spins & 255 != 0 { continue }
            let now = DispatchTime.now().uptimeNanoseconds
            if deadline == 0 { deadline = now + Self.waitNanoseconds }
            if now >= deadline { sched_yield() }
        }
    }

    func stop() {
        stopping.pointee.store(1, ordering: .sequentiallyConsistent)
        generation.pointee.add(1, ordering: .sequentiallyConsistent)
        wakeSleepers()
    }

    private func wakeSleepers() {
        guard sleepers.pointee.load(ordering: .sequentiallyConsistent) > 0 else { return }
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    /// Thread `index` claims and runs tasks of `job`: its own share first; then, once the other threads
    /// have started theirs (or a short grace has passed), what they left, from the end backwards.
    /// Returns how many it ran.
    private func work(job: UInt64, index: Int, count: Int, pinned: Bool, body: UnsafePointer<(Int) -> Void>) -> Int {
        var done = 0
        /// Runs task `i` if this thread claims it; false once the job is over.
        func take(_ i: Int) -> Bool {
            switch claim(i, job: job) {
            case .taken: return true
            case .stale: return false
            case .claimed:
                body.pointee(i)
                done += 1
                return true
            }
        }
        let own = (count * index / threads)..<(count * (index + 1) / threads)
        for i in own where !take(i) { return done }
        if pinned { return done }
        graceBeforeStealing(job: job, count: count, index: index)
        for i in stride(from: count - 1, through: 0, by: -1) where !own.contains(i) && !take(i) { return done }
        return done
    }

    private enum Claim { case claimed, taken, stale }

    /// Claims task `i` of `job`: `.taken` when another thread has it, `.stale` when the job is over.
    private func claim(_ i: Int, job: UInt64) -> Claim {
        let word = claims(i)
        let seen = word.pointee.load(ordering: .relaxed)
        guard seen < job else { return .taken }
        guard word.pointee.compareExchange(expected: seen, desired: job, ordering: .acquiringAndReleasing).exchanged
        else { return .taken }
        return generation.pointee.load(ordering: .acquiring) == job ? .claimed : .stale
    }

    /// Waits up to `graceNanoseconds` until every other thread has claimed the first task of its share
    /// (it is awake and working), so that a thread does not take work whose data sits in another core's
    /// cache only because that thread was a moment late.
    private func graceBeforeStealing(job: UInt64, count: Int, index: Int) {
        var deadline: UInt64 = 0
        var spins = 0
        while true {
            var waiting = false
            for t in 0..<threads where t != index {
                let start = count * t / threads
                if start < count * (t + 1) / threads && claims(start).pointee.load(ordering: .relaxed) < job {
                    waiting = true
                    break
                }
            }
            if !waiting { return }
            spins += 1
            if spins & 63 != 0 { continue }
            let now = DispatchTime.now().uptimeNanoseconds
            if deadline == 0 { deadline = now + Self.graceNanoseconds }
            if now >= deadline { return }
        }
    }

    func workerLoop(index: Int) {
        var seen: UInt64 = 0
        while true {
            let job = waitForJob(after: seen)
            seen = job
            if stopping.pointee.load(ordering: .acquiring) != 0 { return }
            let slot = Int(job & 1)
            let (count, raw, isPinned) = (counts[slot], bodies[slot], pinned[slot])
            guard let raw, count <= Self.maxTasks else { continue }
            let done = work(
                job: job, index: index, count: count, pinned: isPinned, body: raw.assumingMemoryBound(to: ((Int) -> Void).self))
            if done > 0 { finished.pointee.add(UInt64(done), ordering: .releasing) }
        }
    }

    /// Spins (yielding) for up to `spinNanoseconds`, then sleeps, until the generation differs from
    /// `seen`; returns it. (Spinning keeps a worker ready between the jobs of a training step,
    /// microseconds apart; sleeping frees its core between epochs and runs.)
    private func waitForJob(after seen: UInt64) -> UInt64 {
        var spins = 0
        var deadline: UInt64 = 0
        while true {
            let current = generation.pointee.load(ordering: .acquiring)
            if current != seen { return current }
            spins += 1
            if spins < 4096 || spins & 15 != 0 { continue }
            let now = DispatchTime.now().uptimeNanoseconds
            if deadline == 0 { deadline = now + Self.spinNanoseconds }
            if now < deadline {
                sched_yield()
                continue
            }
            condition.lock()
            sleepers.pointee.add(1, ordering: .sequentiallyConsistent)
            while generation.pointee.load(ordering: .sequentiallyConsistent) == seen { condition.wait() }
            sleepers.pointee.subtract(1, ordering: .sequentiallyConsistent)
            condition.unlock()
        }
    }

    /// How long a thread that ran its share waits for the others to start theirs before it takes them.
    static let graceNanoseconds: UInt64 = 3_000
    /// How long an idle worker spins before it sleeps.
    static let spinNanoseconds: UInt64 = 200_000
    /// How long the caller spins on unfinished tasks before it yields its core (a worker holding a task
    /// was probably preempted).
    static let waitNanoseconds: UInt64 = 50_000
}
