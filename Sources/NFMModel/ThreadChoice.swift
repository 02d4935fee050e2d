import NFMKernels

/// Chooses, while training, whether a step's jobs run on the worker pool or on the calling thread alone,
/// by timing both: the results are the same bits either way (every job's blocks are fixed by the shapes),
/// so only the speed is at stake.
///
/// Steps go in periods of `period`: the first `sample` steps of a period run on the calling thread, the
/// next `sample` on the pool, and the rest of the period in whichever of the two has the shorter median
/// step. The median, not the total: on a shared host one sampled step can take a hundred times the others
/// (the other core was lent to a neighbour for a millisecond), and a total would hand the rest of the period
/// to the calling thread for that one step.
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
    /// The current period's sampled step times, per mode.
    private var inlineSeconds: [Double] = []
    private var poolSeconds: [Double] = []
    /// The mode of the period's remaining steps (true: the calling thread alone).
    private(set) var prefersInline = false

    init(schedule: Schedule) {
        self.schedule = Schedule(sample: max(1, schedule.sample), period: max(2 * max(1, schedule.sample) + 1, schedule.period))
        inlineSeconds.reserveCapacity(self.schedule.sample)
        poolSeconds.reserveCapacity(self.schedule.sample)
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
        if phase == 0 {
            inlineSeconds.removeAll(keepingCapacity: true)
            poolSeconds.removeAll(keepingCapacity: true)
        }
        if phase < schedule.sample {
            inlineSeconds.append(seconds)
        } else if phase < 2 * schedule.sample {
            poolSeconds.append(seconds)
            if phase == 2 * schedule.sample - 1 { prefersInline = Self.median(inlineSeconds) < Self.median(poolSeconds) }
        }
        step += 1
    }

    /// The median of `values` (the mean of the middle two for an even count). O(n log n).
    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
