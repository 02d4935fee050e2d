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
/// the rows are added in order, as one thread would); and items (`forEachClaimed(ranges:)`) that write
/// disjoint memory.
public struct TeamMember {
    /// This thread's index, `0..<count`.
    public let index: Int
    /// Threads in the team.
    public let count: Int
    let state: TeamState
    /// Synchronisation points passed so far (the same sequence on every member).
    private var step: UInt64 = 0
    /// Whether `forEachClaimed(ranges:)` has run in this job.
    private var claimed = false

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

    /// Runs `body(i)` once for every item `i` of every member's range (`range(t)` for member `t`: the
    /// same function on every member), each on one member: a member claims the items of its own range
    /// front to back from that range's counter, then helps the members after it (`index + 1`, …,
    /// wrapping round) with what is left of theirs. Each member keeps to its own items while it has any
    /// (their memory stays in its cache), and the members finish together however uneven the ranges.
    /// Items must write disjoint memory; follow with a `barrier()` before reading what they wrote. At
    /// most once per team job (the counters start from zero with each job).
    public mutating func forEachClaimed(ranges range: (Int) -> Range<Int>, _ body: (Int) -> Void) {
        precondition(!claimed, "forEachClaimed(ranges:) runs at most once per team job")
        claimed = true
        if count == 1 {
            for i in range(0) { body(i) }
            return
        }
        for k in 0..<count {
            let owner = (index &+ k) % count
            let items = range(owner)
            let counter = state.claims(owner)
            while true {
                let i = Int(counter.pointee.add(1, ordering: .relaxed).oldValue)
                if i >= items.count { break }
                body(items.lowerBound &+ i)
            }
        }
    }
}

/// The counters of a pool's team jobs: one progress word per thread and one claim counter per thread's
/// range (`forEachClaimed(ranges:)`), each on its own 64-byte line.
final class TeamState: @unchecked Sendable {
    let threads: Int
    private let words: PaddedAtomics

    init(threads: Int) {
        self.threads = threads
        words = PaddedAtomics(count: 2 * threads)
    }

    deinit { words.deallocate() }

    /// Synchronisation points thread `t` has passed in the current job.
    func progress(_ t: Int) -> UnsafeMutablePointer<Atomic<UInt64>> { words[t] }
    /// Items of thread `t`'s range claimed so far in the current job.
    func claims(_ t: Int) -> UnsafeMutablePointer<Atomic<UInt64>> { words[threads + t] }

    /// Zeroes the counters; called by the caller between jobs (the job's start publishes it).
    func reset() {
        for i in 0..<(2 * threads) { words[i].pointee.store(0, ordering: .relaxed) }
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
