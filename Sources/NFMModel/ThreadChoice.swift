import NFMKernels

/// Chooses, while training, whether a step's jobs run on the worker pool or on the calling thread alone,
/// by timing both: the results are the same bits either way (every job's blocks are fixed by the shapes),
/// so only the speed is at stake.
///
/// Steps go in periods of `period`: the first `sample` steps of a period run on the calling thread, the
/// next `sample` on the pool, and the rest of the period in whichever of the two took less time in total.
/// The pool does not pay on every machine: a hand-over to a core whose caches are far away (measured
/// core-to-core round trips of 90–530 ns on one 2-vCPU host, `Benchmarks/core-latency.c`) can cost more than
/// a small batch's jobs save. Cost: at most `2 · sample / period` of the steps in the slower mode.
struct ThreadChoice {
    /// Sampled steps per mode, and steps per period (`period > 2 · sample`).
    struct Schedule: Sendable {
        var sample: Int
        var period: Int
        /// 8 sampled steps of each mode every 512 steps (an NFM Frappe epoch has 1,579 steps of 128 rows:
        /// the mode is chosen three times an epoch; the slower mode's samples cost about 1.5% of the steps).
        static let standard = Schedule(sample: 8, period: 512)
    }

    let schedule: Schedule
    private var step = 0
    private var inlineSeconds = 0.0
    private var poolSeconds = 0.0
    /// The mode of the period's remaining steps (true: the calling thread alone).
    private(set) var prefersInline = false

    init(schedule: Schedule) {
        self.schedule = Schedule(sample: max(1, schedule.sample), period: max(2 * max(1, schedule.sample) + 1, schedule.period))
    }

    /// Whether the next step runs on the calling thread alone.
    var nextRunsInline: Bool {
        let phase = step % schedule.period
        if phase < schedule.sample { return true }
        if phase < 2 * schedule.sample { return false }
        return prefersInline
    }

    /// Records the step just run (`seconds` of wall time, in the mode `nextRunsInline` gave).
    mutating func record(seconds: Double) {
        let phase = step % schedule.period
        if phase == 0 { (inlineSeconds, poolSeconds) = (0, 0) }
        if phase < schedule.sample {
            inlineSeconds += seconds
        } else if phase < 2 * schedule.sample {
            poolSeconds += seconds
            if phase == 2 * schedule.sample - 1 { prefersInline = inlineSeconds < poolSeconds }
        }
        step += 1
    }
}
