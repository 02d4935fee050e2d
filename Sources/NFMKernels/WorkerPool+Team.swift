import Foundation
import Synchronization

extension WorkerPool {
    /// Runs `body` once on every thread of the pool at the same time (SPMD), each with its own
    /// `TeamMember` (index `0..<threads`, the caller being 0), and returns when all have returned. The
    /// members synchronise through the member's barriers, relays and shared task counter; every member
    /// must pass the same sequence of them. With one thread, or when `runsInline` is set, `body` runs
    /// inline as a team of one (every relay is then the whole sum in order, every barrier a no-op).
    ///
    /// Cost per synchronisation: one store and the load of the other threads' lines (a core-to-core
    /// round trip, ~0.1–0.3 µs), against a fork-join job's hand-over and per-task claims.
    public func runTeam(_ body: (inout TeamMember) -> Void) {
        if threads == 1 || runsInline {
            var member = TeamMember(index: 0, count: 1, state: team)
            body(&member)
            return
        }
        team.reset()
        runPinned { index in
            var member = TeamMember(index: index, count: threads, state: team)
            body(&member)
        }
    }
}

/// One thread of a `WorkerPool.runTeam` job: its index, its share of a job's rows, and the
/// synchronisation points it passes with the other members.
///
/// Results are the same bits for every thread count when the team keeps to three rules: row-wise work
/// on `share`s (each row's arithmetic does not depend on which thread does it); sums over rows as a
/// relay (`turn`: thread 0 sums its rows, thread 1 continues from that partial sum over its rows, …, so
/// the rows are added in order, as one thread would); and tasks (`forEachClaimed`) that write disjoint
/// memory.
public struct TeamMember {
    /// This thread's index, `0..<count`.
    public let index: Int
    /// Threads in the team.
    public let count: Int
    let state: TeamState
    /// Synchronisation points passed so far (the same sequence on every member).
    private var step: UInt64 = 0
    /// The shared task counter's value when the current `forEachClaimed` began.
    private var ticketBase: UInt64 = 0

    init(index: Int, count: Int, state: TeamState) {
        self.index = index
        self.count = count
        self.state = state
    }

    /// Whether this is thread 0 (the first in every relay).
    public var isFirst: Bool { index == 0 }
    /// Whether this is the last thread (the last in every relay).
    public var isLast: Bool { index == count - 1 }

    /// This thread's consecutive part of `0..<total`, cut in units of `unit` values: thread `t` of `T`
    /// takes units `[⌊t·U/T⌋, ⌊(t+1)·U/T⌋)` of the `U = ⌈total/unit⌉` units (the last unit may be short).
    public func share(of total: Int, unit: Int) -> Range<Int> {
        let unit = max(1, unit)
        let units = (total + unit - 1) / unit
        let lower = min(total, units * index / count * unit)
        let upper = min(total, units * (index + 1) / count * unit)
        return lower..<upper
    }

    /// Waits until every member has reached this barrier (what each wrote before it is then visible to all).
    public mutating func barrier() {
        step += 1
        if count == 1 { return }
        state.progress(index).pointee.store(step, ordering: .releasing)
        for t in 0..<count where t != index { TeamState.wait(state.progress(t), atLeast: step) }
    }

    /// One leg of a relay: waits until the previous member has run its `part` of this relay, runs `part`,
    /// and lets the next member go on. The parts of all members run one after another in index order
    /// (a sum over rows continued from thread to thread is the in-order sum). Does not wait for the later
    /// members (`awaitLast` does).
    public mutating func turn(_ part: () -> Void) {
        step += 1
        if count == 1 { return part() }
        if index > 0 { TeamState.wait(state.progress(index - 1), atLeast: step) }
        part()
        state.progress(index).pointee.store(step, ordering: .releasing)
    }

    /// Waits until the last member has run its part of the latest relay (`turn`), so that the relay's
    /// whole result is visible.
    public func awaitLast() {
        if count == 1 || isLast { return }
        TeamState.wait(state.progress(count - 1), atLeast: step)
    }

    /// Runs `body(i)` for tasks `i` of `0..<tasks`, each claimed by one member from a shared counter (the
    /// first free task first), until none is left. Tasks must write disjoint memory; follow with a
    /// `barrier()` before reading what they wrote.
    public mutating func forEachClaimed(_ tasks: Int, _ body: (Int) -> Void) {
        if count == 1 {
            for i in 0..<tasks { body(i) }
            return
        }
        let base = ticketBase
        // Every member draws exactly one ticket past the end, so the next job starts `tasks + count` on.
        ticketBase += UInt64(tasks + count)
        while true {
            let i = Int(state.ticket.pointee.add(1, ordering: .relaxed).oldValue - base)
            if i >= tasks { return }
            body(i)
        }
    }
}

/// The counters of a pool's team jobs: one progress word per thread and the shared task counter, each
/// on its own 64-byte line.
final class TeamState: @unchecked Sendable {
    let threads: Int
    private let words: PaddedAtomics

    init(threads: Int) {
        self.threads = threads
        words = PaddedAtomics(count: threads + 1)
    }

    deinit { words.deallocate() }

    /// Synchronisation points thread `t` has passed in the current job.
    func progress(_ t: Int) -> UnsafeMutablePointer<Atomic<UInt64>> { words[t] }
    /// The shared task counter.
    var ticket: UnsafeMutablePointer<Atomic<UInt64>> { words[threads] }

    /// Zeroes the counters; called by the caller between jobs (the job's start publishes it).
    func reset() {
        for i in 0...threads { words[i].pointee.store(0, ordering: .relaxed) }
    }

    /// Spins until `word` reaches `value`; after ~20k spins (tens of µs: the other thread was probably
    /// preempted) it yields its core at every check.
    static func wait(_ word: UnsafeMutablePointer<Atomic<UInt64>>, atLeast value: UInt64) {
        var spins = 0
        while word.pointee.load(ordering: .acquiring) < value {
            spins += 1
            if spins > 20_000 { sched_yield() }
        }
    }
}
