import NFMKernels

/// The dropout masks of a team step (`Model.teamTrainStep`), drawn by all its threads at once.
///
/// One thread draws the masks one after another from the step's generator, four values per 64-bit draw
/// (`dropoutMask`): mask `m` takes draws `starts[m] ..< starts[m + 1]` (`⌈count/4⌉` of them). Here that
/// sequence of draws is cut into one consecutive piece per thread; thread `t` jumps a copy of the step's
/// generator to the start of its piece (`XoshiroJump`, cached by distance in the workspace) and draws the
/// values of its piece into the masks. Pieces start at multiples of 4 values of a mask, so every value is
/// the one a single thread draws, and the last thread, whose piece ends with the last draw, leaves the
/// generator where a single thread would: the same masks and the same stream, for every thread count.
/// The last thread also assigns the gradient slots, so its piece is shortened by an estimate of that work
/// (one draw per batch entry of a fixed layout); the cuts depend only on the batch's shape, so a run
/// needs a few jumps.
struct TeamMaskDraws {
    /// The masks, in the order one thread draws them.
    private let masks: UnsafeMutableBufferPointer<MaskRequest>
    /// Draw index where each mask starts, and the total: `masks.count + 1` values.
    private let starts: UnsafeMutableBufferPointer<Int>
    /// Draw index where each thread's piece starts, and the total: `threads + 1` values.
    private let cuts: UnsafeMutableBufferPointer<Int>
    /// The jump to each thread's piece (nil for thread 0 and for empty pieces), borrowed from the jumps
    /// that `workspace.maskJumps` keeps.
    private let jumps: UnsafeMutableBufferPointer<XoshiroJump.Matrix?>
    /// The thread that makes the last draw (0 when there is none), which hands on the generator.
    private let finisher: Int

    /// The pieces of `masks` for a team of `threads`, with jumps from `workspace.maskJumps` (computed and
    /// stored there when missing, on the calling thread). Small mask sets (under 256 draws) are drawn
    /// whole by thread 0. The threads read plain memory (no reference counts, whose atomic updates would
    /// pass a cache line between the cores); `deallocate()` after the team's job.
    init(masks requests: [MaskRequest], batch x: SparseRows, threads: Int, workspace ws: Workspace) {
        let threads = max(1, threads)
        masks = .allocate(capacity: requests.count)
        _ = masks.initialize(from: requests)
        starts = .allocate(capacity: requests.count + 1)
        starts[0] = 0
        for (m, mask) in requests.enumerated() { starts[m + 1] = starts[m] + (mask.count + 3) / 4 }
        let total = starts[requests.count]
        cuts = .allocate(capacity: threads + 1)
        cuts.initialize(repeating: total)
        cuts[0] = 0
        if threads > 1 && total >= 256 {
            // The last thread's piece: its even share of the masks and the slot assignment together, less
            // the latter.
            let assignment = x.offsets == nil ? x.entryCount : 0
            let last = min(total, max(0, (total + assignment) / threads - assignment))
            for t in 0..<threads { cuts[t] = (total - last) * t / (threads - 1) }
        }
        var finisher = 0
        jumps = .allocate(capacity: threads)
        for t in 0..<threads {
            let (distance, end) = (cuts[t], cuts[t + 1])
            if distance < end { finisher = t }
            guard distance > 0 && distance < end else {
                jumps[t] = nil
                continue
            }
            let jump = ws.maskJumps[distance] ?? XoshiroJump(draws: distance)
            ws.maskJumps[distance] = jump
            jumps[t] = jump.matrix
        }
        self.finisher = finisher
    }

    /// Frees the pieces' memory (after every thread has drawn).
    func deallocate() {
        masks.deallocate()
        starts.deallocate()
        cuts.deallocate()
        jumps.deallocate()
    }

    /// Thread `t`'s piece: from `start` (the step's generator before any mask), jumped to the piece, the
    /// values of its draws. Returns the generator after the last draw on the thread that makes it (nil on
    /// the others).
    func draw(thread t: Int, start: Xoshiro256) -> Xoshiro256? {
        var generator = start
        if let jump = jumps[t] { generator.jump(jump) }
        let piece = cuts[t]..<cuts[t + 1]
        for m in 0..<masks.count {
            let lower = max(piece.lowerBound, starts[m]) - starts[m]
            let upper = min(piece.upperBound, starts[m + 1]) - starts[m]
            guard lower < upper else { continue }
            let mask = masks[m]
            let values = (4 * lower)..<min(mask.count, 4 * upper)
            dropoutMask(count: values.count, keep: mask.keep, into: mask.mask + values.lowerBound, random: &generator)
        }
        return t == finisher ? generator : nil
    }
}
